//! `sdc-sbcreate`: Triton's service bundle, as sdc-headnode `tools/bin/sdc-sbcreate` (man page
//! `tools/man/man1/sdc-sbcreate.1.ronn`) makes it on a headnode or compute node.
//!
//! It writes `<dir>/sdc-support.<hostname>.<%Y%m%dT%H%M%SZ>.tar.bz2` (`gtar -jcvf`: GNU tar,
//! bzip2) holding one directory named by the server uuid (`sysinfo | json UUID`), and beside it
//! `<bundle>.log`: bash's xtrace of the run and tar's verbose listings. What goes into the
//! directory: see `grab.rs`. Options: `-d DIR` (default `/var/tmp`), `-o OUTPUT` (relative to
//! DIR), `-c CONTENT[,...]`, `-I ISSUE` (adds `ticket.<ISSUE>`), `-i` (no countdown), `-a`, `-u`
//! (upload with `sdc-sbupload`, which the simulation does not have: it fails as it would where
//! the tool is missing).
//!
//! Paths in the simulation: the default `/var/tmp` is the host's (`DIR/<host root>/var/tmp`);
//! an explicit `-d`/`-o` is used as given, which through the fake `sdc-oneachnode` already points
//! into the compute node's tree. Messages and the log name paths as the host sees them.

mod grab;
mod session;
mod tarball;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::args::{self, Opt};
use crate::reply::Reply;
use crate::sim::Sim;
use session::{Session, SCRIPT};

/// `getopts "I:ad:o:c:iu"`.
const SPEC: &[Opt] = &[
    Opt::value('I'),
    Opt::flag('a'),
    Opt::value('d'),
    Opt::value('o'),
    Opt::value('c'),
    Opt::flag('i'),
    Opt::flag('u'),
];

/// Seconds of the sanity pause without `-i` (`COUNTDOWN=5`, counted down from 4).
const COUNTDOWN: u64 = 5;

struct Options {
    issue: Option<String>,
    dir: Option<String>,
    output: Option<String>,
    /// `-c`: the grab functions to run instead of `default`.
    contents: Option<Vec<String>>,
    immediate: bool,
    upload: bool,
}

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    let options = match parse_options(args) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let host = sim.host();
    let base_dir = match &options.dir {
        None => sim.host_root(host).join("var/tmp"),
        Some(dir) => absolute(dir),
    };
    let uuid = crate::jsonfmt::js_string(host.sysinfo.get("UUID")).unwrap_or_default();
    let pid = std::process::id();
    let stamp = sim
        .now()
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default();
    let file_name = format!("sdc-support.{}.{stamp}.tar.bz2", host.hostname);
    let out_file = match &options.output {
        None => base_dir.join(file_name),
        Some(output) if output.starts_with('/') => PathBuf::from(output),
        Some(output) => base_dir.join(output),
    };
    let work_dir = base_dir.join(format!("sdcsb.{pid}"));

    let mut s = Session::new(sim);
    s.temp_dir = format!("{}/{uuid}", s.host_view(&work_dir));
    if !options.immediate {
        countdown(&mut s, &work_dir);
    }
    s.trace(576, "", "echo '==> Gathering System Information'");
    s.stdout.push_str("==> Gathering System Information\n");
    if let Some(issue) = &options.issue {
        s.trace(580, "", &format!("echo {issue}"));
        s.add_file(
            &format!("ticket.{issue}"),
            format!("{issue}\n").into_bytes(),
        );
    }
    s.trace(583, "", "cd /");
    match &options.contents {
        None => grab::grab(&mut s, "default"),
        Some(contents) => {
            for content in contents {
                grab::grab(&mut s, content);
            }
        }
    }
    pack(&mut s, &uuid, &base_dir, &out_file);
    s.trace(599, "", "echo '==> cleaning up'");
    s.stdout.push_str("==> cleaning up\n");
    let work_shown = s.host_view(&work_dir);
    s.trace(600, "", &format!("rm -rf {work_shown}"));
    let status = if options.upload {
        upload_fails(&mut s)
    } else {
        s.trace(609, "", "echo '==> done'");
        s.stdout.push_str("==> done\n");
        0
    };
    // bash keeps tracing into the log after it was renamed beside the bundle.
    let log_path = PathBuf::from(format!("{}.log", out_file.display()));
    if let Err(e) = std::fs::write(&log_path, &s.log) {
        let message = format!("mv: cannot rename to {}: {e}\n", s.host_view(&log_path));
        s.stderr.extend_from_slice(message.as_bytes());
    }
    Reply {
        stdout: s.stdout.into_bytes(),
        stderr: s.stderr,
        status,
    }
}

/// `gtar -jcvf OUTFILE <uuid>` and `mv LOGFILE OUTFILE.log`. A failure is what gtar and mv
/// would say; the script goes on regardless.
fn pack(s: &mut Session, uuid: &str, base_dir: &Path, out_file: &Path) {
    let shown = s.host_view(out_file);
    s.trace(593, "", &format!("echo '==> packing data to {shown}'"));
    s.stdout.push_str(&format!("==> packing data to {shown}\n"));
    let temp_dir = s.temp_dir.clone();
    let parent = temp_dir.rsplit_once('/').map_or("", |(p, _)| p);
    s.trace(
        596,
        "",
        &format!("gtar -C {temp_dir}/.. -jcvf {shown} {uuid}"),
    );
    if let Err(e) = std::fs::create_dir_all(base_dir) {
        s.stderr
            .extend_from_slice(format!("mkdir: {}: {e}\n", base_dir.display()).as_bytes());
    }
    let written = tarball::gtar_bzip2(uuid, &s.files, s.mtime).and_then(|archive| {
        for line in &archive.listing {
            s.log.push_str(line);
            s.log.push('\n');
        }
        std::fs::write(out_file, archive.bytes)
    });
    if let Err(e) = written {
        s.log
            .push_str(&format!("gtar: {shown}: Cannot open: {e}\n"));
    }
    s.trace(597, "", &format!("mv {parent}.log {shown}.log"));
}

/// `-u`: `/opt/smartdc/bin/sdc-sbupload` is not in the simulation, so bash cannot run it and the
/// script ends with `fatal "upload failed"`. Returns the exit status.
fn upload_fails(s: &mut Session) -> i32 {
    s.trace(603, "", "echo '==> uploading to Triton Support'");
    s.stdout.push_str("==> uploading to Triton Support\n");
    let missing = "/opt/smartdc/bin/sdc-sbupload";
    s.trace(605, "", &format!("{missing} -t servicebundle"));
    s.stderr.extend_from_slice(
        format!("{SCRIPT}: line 605: {missing}: No such file or directory\n").as_bytes(),
    );
    s.stdout.push_str("sdc-sbcreate: upload failed\n");
    1
}

/// The pause before starting, with its messages (`do_countdown`).
fn countdown(s: &mut Session, work_dir: &Path) {
    s.stdout.push_str(&format!(
        "\nThis tool will create a Triton support bundle in {}.\n\
         This may take some time...  If you wish to abort press CTRL-C now!\n\n",
        s.host_view(work_dir)
    ));
    for left in (1..COUNTDOWN).rev() {
        s.stdout.push_str("                                   \r");
        s.stdout
            .push_str(&format!("Starting in {left} seconds...\r"));
        std::thread::sleep(Duration::from_secs(1));
    }
    s.stdout.push_str("\n\n");
}

fn absolute(dir: &str) -> PathBuf {
    if dir.starts_with('/') {
        return PathBuf::from(dir);
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| PathBuf::from(dir))
}

/// Parses the command line as the script's `getopts` loop and `-c` checks do; `Err` is the
/// complete answer (usage or fatal message, exit 1).
fn parse_options(args: &[String]) -> Result<Options, Reply> {
    let parsed = args::parse(args, SPEC, false).map_err(|e| {
        let mut reply = usage();
        reply.stderr = format!("{SCRIPT}: {e}\n").into_bytes();
        reply
    })?;
    let contents = match parsed.value("c") {
        None => None,
        Some(list) => Some(check_contents(list)?),
    };
    Ok(Options {
        issue: parsed.value("I").map(str::to_string),
        dir: parsed.value("d").map(str::to_string),
        output: parsed.value("o").map(str::to_string),
        contents,
        immediate: parsed.has("i"),
        upload: parsed.has("u"),
    })
}

fn check_contents(list: &str) -> Result<Vec<String>, Reply> {
    let contents: Vec<String> = list
        .split([',', ' '])
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    if contents.len() > 1 && contents.iter().any(|c| c == "default") {
        return Err(fatal(
            "cannot specify default and contents included by default",
        ));
    }
    let known = grab::names();
    if let Some(unknown) = contents.iter().find(|c| !known.contains(&c.as_str())) {
        let mut reply = usage();
        let mut stdout = format!("sdc-sbcreate: unrecognized content \"{unknown}\"\n");
        stdout.push_str(&String::from_utf8_lossy(&reply.stdout));
        reply.stdout = stdout.into_bytes();
        return Err(reply);
    }
    if contents.is_empty() {
        return Err(fatal("must specify content to gather"));
    }
    Ok(contents)
}

/// `fatal`: the message on stdout, exit 1.
fn fatal(message: &str) -> Reply {
    Reply {
        stdout: format!("sdc-sbcreate: {message}\n").into_bytes(),
        stderr: Vec::new(),
        status: 1,
    }
}

/// `usage`: options, then the content names wrapped at 80 columns as the script's awk does.
fn usage() -> Reply {
    let mut text = String::from(
        "Usage: sdc-sbcreate [-d dir] [-o output] [-c content] [-iu]\n\
         \x20   -a    collect all cores/crashes instead of only recent ones\n\
         \x20   -i    immediate -- no countdown\n\
         \x20   -u    upload after create\n\
         \x20   -I    issue ID provided by support\n\
         \x20 'content' must be one or more of:\n",
    );
    const INDENT: usize = 8;
    let mut column = INDENT;
    text.push_str(&" ".repeat(INDENT - 1));
    for name in grab::names() {
        let width = name.len() + 1;
        if column + width >= 80 {
            text.push_str(&format!("\n{}{name}", " ".repeat(INDENT)));
            column = INDENT + width;
        } else {
            text.push_str(&format!(" {name}"));
            column += width;
        }
    }
    text.push('\n');
    Reply {
        stdout: text.into_bytes(),
        stderr: Vec::new(),
        status: 1,
    }
}
