//! `sdc-oneachnode`: run a command, or move a file, on nodes of the datacenter.
//!
//! Options, messages, output formats and exit statuses follow sdc-sdc `lib/sdc-oneachnode.js`
//! and node-urclient (`lib/ur_client.js`, `lib/ur_disco.js`). Notable real behaviour kept here:
//! a command's non-zero exit status is a *result* (exit 0), only a node that could not run it
//! (timeout, transfer error) is an execution failure (exit 20); a requested node that does not
//! answer discovery aborts the whole run (exit 10, no output); when every node's output has at
//! most one non-blank line the one-line table is printed instead of the `=== Output` blocks.
//!
//! How the command runs "on" a node of the simulation: see [`rewrite`].

mod exec;
mod output;
mod rewrite;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::args::{self, Opt};
use crate::reply::Reply;
use crate::sim::Sim;
use crate::state::{Host, HostRole};
use output::{NodeResult, Outcome};

const SPEC: &[Opt] = &[
    Opt::flag('a').long("allnodes"),
    Opt::flag('c').long("computeonly"),
    Opt::value('n').long("node"),
    Opt::value('d').long("dir"),
    Opt::value('g').long("get"),
    Opt::value('p').long("put"),
    Opt::flag('X').long("clobber"),
    Opt::flag('I').long("immediate"),
    Opt::flag('N').long("oneline"),
    Opt::flag('j').long("json"),
    Opt::flag('J').long("jsonstream"),
    Opt::flag('h').long("help"),
    Opt::flag('l').long("listonly"),
    Opt::value('t').long("timeout"),
    Opt::value('T').long("exectimeout"),
    Opt::flag('q').long("quiet"),
    Opt::flag('v').long("verbose"),
];

const USAGE: &str = "\
Usage: sdc-oneachnode [-a|-c|-n NODE[,NODE,...]] [-t|-T SECONDS]
                      [-g|-p FILE] [-d DIR] [-hjJlvINX]

target selection options (must provide exactly one):
  -a, --allnodes                execute on all nodes, including the headnode
  -c, --computeonly             only execute on compute nodes
  -n NODE[,NODE,...], --node=NODE[,NODE,...]
                                node (or comma-separated list of nodes) on which
                                to execute (hostname or UUID)

file transfer options:
  -d DIR, --dir=DIR             directory in which to write files
  -g FILE, --get=FILE           have remote nodes receive the specified file
                                from this node
  -p FILE, --put=FILE           have remote nodes send the specified file to
                                this node
  -X, --clobber                 overwrite destination file if it exists

formatting options:
  -I, --immediate               print command results immediately as they
                                arrive, rather than sorting them for output at
                                the end
  -N, --oneline                 force terse, one line per host output mode;
                                multi-line output will be reduced to the last
                                non-blank line, as if piped through \"tail -1\"
  -j, --json                    output results as a JSON array at the end of
                                processing
  -J, --jsonstream              new-line separated JSON streaming output; same
                                as \"-jI\"

other options:
  -h, --help                    print this help message
  -l, --listonly                do not run a command, just do discovery and
                                list nodes
  -t SECONDS, --timeout=SECONDS
                                timeout (in seconds) for node discovery.
                                Default: 4
  -T SECONDS, --exectimeout=SECONDS
                                timeout (in seconds) for command execution on
                                discovered nodes. Default: 60
  -q, --quiet                   print no output, not even errors
  -v, --verbose                 print diagnostic output to stderr
";

/// Exit statuses documented by sdc-oneachnode.
const EXIT_GENERIC: i32 = 1;
const EXIT_OPTION_PARSE: i32 = 2;
const EXIT_MISSING_NODES: i32 = 10;
const EXIT_EXEC_FAILURE: i32 = 20;

enum Target {
    All,
    ComputeOnly,
    Nodes(Vec<String>),
}

enum Work {
    Exec(String),
    Send {
        file: String,
        dir: String,
        clobber: bool,
    },
    Receive {
        file: String,
        dir: String,
    },
    List,
}

struct Options {
    target: Target,
    work: Work,
    immediate: bool,
    oneline: bool,
    json: bool,
    quiet: bool,
    verbose: bool,
    exec_timeout: Duration,
}

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    if !sim.on_headnode() {
        return Reply::not_found("sdc-oneachnode");
    }
    let opts = match parse_options(args) {
        Ok(opts) => opts,
        Err(reply) => return reply,
    };
    let mut log = Verbose::new(opts.verbose && !opts.quiet);
    if let Work::Receive { dir, .. } = &opts.work {
        if let Some(problem) = local_dir_problem(dir) {
            let stderr = if opts.quiet {
                String::new()
            } else {
                format!("ERROR: {problem}\n")
            };
            return Reply::error(EXIT_GENERIC, stderr);
        }
    }

    log.line("discovering servers");
    let hosts = match discover(sim, &opts.target) {
        Ok(hosts) => hosts,
        Err(failure) => {
            log.line("discovery failed");
            log.line(&format!("ERROR: {}", failure.message));
            let mut reply = Reply::error(failure.status, Vec::new());
            if !opts.quiet {
                reply.stderr = format!(
                    "{}ERROR: {}\n{}",
                    log.finish(),
                    failure.message,
                    failure.details
                )
                .into_bytes();
            }
            return reply;
        }
    };
    for host in &hosts {
        log.line(&format!("found {} ({})", host.server_uuid, host.hostname));
    }
    log.line("discovery complete");

    let results: Vec<NodeResult> = if matches!(opts.work, Work::List) {
        hosts
            .iter()
            .map(|h| NodeResult {
                uuid: h.server_uuid.clone(),
                hostname: h.hostname.clone(),
                outcome: Outcome::Listed,
            })
            .collect()
    } else {
        for host in &hosts {
            log.line(&format!(
                "running on {} ({})",
                host.server_uuid, host.hostname
            ));
        }
        let results = run_everywhere(sim, &hosts, &opts);
        for r in &results {
            match &r.outcome {
                Outcome::Failed { message } => {
                    log.line(&format!("error on {} ({})", r.uuid, r.hostname));
                    log.line(&format!("  :: error: {message}"));
                }
                _ => log.line(&format!("run ok on {} ({})", r.uuid, r.hostname)),
            }
        }
        log.line("command run complete");
        results
    };

    let stdout = render(&opts, results.clone());
    let mut stderr = log.finish();
    let mut failed: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
        .map(|r| r.hostname.as_str())
        .collect();
    let status = if failed.is_empty() {
        0
    } else {
        failed.sort_unstable();
        failed.dedup();
        if !opts.quiet {
            stderr.push_str(
                "ERROR: execution failed on some nodes\n\n  execution failed on nodes:\n",
            );
            for name in failed {
                stderr.push_str(&format!("    {name}\n"));
            }
        }
        EXIT_EXEC_FAILURE
    };
    Reply {
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
        status,
    }
}

/// Parses and checks the command line; `Err` is the complete usage/error reply.
fn parse_options(args: &[String]) -> Result<Options, Reply> {
    let usage_error = |msg: &str, quiet: bool| -> Reply {
        let text = if quiet {
            String::new()
        } else {
            format!("ERROR: {msg}\n{USAGE}\n")
        };
        Reply::error(EXIT_OPTION_PARSE, text)
    };
    let p = args::parse(args, SPEC, false).map_err(|e| usage_error(&e, false))?;
    let quiet = p.has("q");
    if p.has("h") {
        return Err(Reply::ok(format!("{USAGE}\n")));
    }
    if quiet && p.has("v") {
        return Err(usage_error("cannot be both quiet and verbose", quiet));
    }
    let targets = [p.has("a"), p.has("c"), p.value("n").is_some()];
    if targets.iter().filter(|t| **t).count() != 1 {
        return Err(usage_error(
            "exactly one of -a, -c or -n must be specified",
            quiet,
        ));
    }
    if p.operands.iter().any(|a| a.starts_with('-')) {
        return Err(usage_error(
            "all options must appear before the command string",
            quiet,
        ));
    }
    let seconds = |key: &str, default: u64| -> Result<u64, Reply> {
        match p.value(key) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                usage_error(
                    &format!("arg for \"-{key}\" is not a positive integer: \"{v}\""),
                    quiet,
                )
            }),
        }
    };
    let exec_timeout = Duration::from_secs(seconds("T", 60)?);
    seconds("t", 4)?;

    let target = if p.has("a") {
        Target::All
    } else if p.has("c") {
        Target::ComputeOnly
    } else {
        let mut nodes: Vec<String> = Vec::new();
        for node in p
            .value("n")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            if nodes.iter().any(|n| n == node) {
                return Err(usage_error("duplicate host in --node (-n) list", quiet));
            }
            nodes.push(node.to_string());
        }
        if nodes.is_empty() {
            return Err(usage_error(
                "no valid hosts provided for --node (-n)",
                quiet,
            ));
        }
        Target::Nodes(nodes)
    };

    let listonly = p.has("l");
    let (get, put, dir) = (p.value("g"), p.value("p"), p.value("d"));
    let work = if get.is_some() || put.is_some() || dir.is_some() {
        let problem = match (get, put, dir) {
            (Some(_), Some(_), _) => Some("cannot get and put a file at the same time"),
            (None, None, _) => Some("must specify -g (get) or -p (put) with -d (dir)"),
            (_, _, None) => Some("must specify -d (dir) with -g (get) or -p (put)"),
            _ if listonly => Some("discovery-only mode cannot use -g/-p/-d"),
            _ if !p.operands.is_empty() => Some("cannot specify both a file and a command"),
            _ => None,
        };
        if let Some(msg) = problem {
            return Err(usage_error(msg, quiet));
        }
        let dir = dir.unwrap_or_default().to_string();
        match (get, put) {
            (Some(file), _) => Work::Send {
                file: file.to_string(),
                dir,
                clobber: p.has("X"),
            },
            (_, Some(file)) => Work::Receive {
                file: file.to_string(),
                dir,
            },
            _ => unreachable!("checked above"),
        }
    } else if !p.operands.is_empty() {
        if listonly {
            return Err(usage_error(
                "cannot send a command in discovery-only mode",
                quiet,
            ));
        }
        if p.operands.len() != 1 {
            return Err(usage_error(
                "must specify entire command as a single, quoted argument",
                quiet,
            ));
        }
        Work::Exec(p.operands[0].clone())
    } else if listonly {
        Work::List
    } else {
        return Err(usage_error(
            "must specify either a file upload, file download or command",
            quiet,
        ));
    };

    let jsonstream = p.has("J");
    Ok(Options {
        target,
        work,
        immediate: p.has("I") || jsonstream,
        oneline: p.has("N"),
        json: p.has("j") || jsonstream,
        quiet,
        verbose: p.has("v"),
        exec_timeout,
    })
}

/// Why `-p` cannot store files in `dir` on this node, if it cannot.
fn local_dir_problem(dir: &str) -> Option<String> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some(format!("not a directory: \"{dir}\"")),
        Err(e) => Some(format!("ENOENT, {e}, lstat '{dir}'")),
    }
}

struct DiscoveryFailure {
    message: String,
    details: String,
    status: i32,
}

/// The nodes that answer discovery. Unreachable nodes never answer: with `-a`/`-c` they are
/// simply absent, with `-n` the run stops with "could not find all nodes".
fn discover<'a>(sim: &'a Sim, target: &Target) -> Result<Vec<&'a Host>, DiscoveryFailure> {
    let reachable = sim.state.hosts().filter(|h| h.reachable);
    let names = match target {
        Target::All => return Ok(reachable.collect()),
        Target::ComputeOnly => {
            return Ok(reachable
                .filter(|h| h.role == HostRole::ComputeNode)
                .collect())
        }
        Target::Nodes(names) => names,
    };
    let mut found: Vec<&Host> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for name in names {
        match sim
            .state
            .hosts()
            .find(|h| h.reachable && (&h.server_uuid == name || &h.hostname == name))
        {
            Some(host) if found.iter().any(|f| f.server_uuid == host.server_uuid) => {
                let mut same = [host.hostname.clone(), host.server_uuid.clone()];
                same.sort();
                return Err(DiscoveryFailure {
                    message: "duplicate host specification detected".to_string(),
                    details: format!(
                        "\n  these names refer to the same node:\n    {}\n    {}\n",
                        same[0], same[1]
                    ),
                    status: EXIT_GENERIC,
                });
            }
            Some(host) => found.push(host),
            None => missing.push(name.clone()),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    missing.sort();
    let list: String = missing.iter().map(|m| format!("    {m}\n")).collect();
    Err(DiscoveryFailure {
        message: "could not find all nodes".to_string(),
        details: format!("\n  missing nodes:\n{list}"),
        status: EXIT_MISSING_NODES,
    })
}

/// Runs the work on every node at once, results in node order.
fn run_everywhere(sim: &Sim, hosts: &[&Host], opts: &Options) -> Vec<NodeResult> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|host| scope.spawn(move || run_on(sim, host, opts)))
            .collect();
        handles
            .into_iter()
            .zip(hosts)
            .map(|(h, host)| {
                let outcome = h.join().unwrap_or_else(|_| Outcome::Failed {
                    message: format!("failure for host {}: internal error", host.server_uuid),
                });
                NodeResult {
                    uuid: host.server_uuid.clone(),
                    hostname: host.hostname.clone(),
                    outcome,
                }
            })
            .collect()
    })
}

fn run_on(sim: &Sim, host: &Host, opts: &Options) -> Outcome {
    match &opts.work {
        Work::Exec(command) => exec_on(sim, host, command, opts.exec_timeout),
        Work::Send { file, dir, clobber } => send_file(sim, host, file, dir, *clobber),
        Work::Receive { file, dir } => receive_file(sim, host, file, dir),
        Work::List => Outcome::Listed,
    }
}

/// The collector's free-space reserve, set by `env.sh` for the simulated hosts.
const SIM_MIN_FREE_VAR: &str = "TRITON_COLLECT_MIN_FREE_BYTES";

/// Runs `command` with `sh -c` in the node's path-rewriting chroot, with ur-agent's minimal
/// environment (PATH, HOME, LOGNAME, USER) plus the simulation variables.
fn exec_on(sim: &Sim, host: &Host, command: &str, timeout: Duration) -> Outcome {
    let root = sim.host_root(host);
    let bin = sim.dir.join("bin");
    let script = rewrite::rewrite(command, &root, &bin);
    let path = match std::env::var("PATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", bin.display()),
        _ => format!("{}:/usr/bin:/bin", bin.display()),
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(if root.is_dir() { &root } else { &sim.dir })
        .env_clear()
        .env("PATH", path)
        .env("HOME", root.join("root"))
        .env("LOGNAME", "root")
        .env("USER", "root")
        .env(crate::state::ENV_SIM_DIR, &sim.dir)
        .env(crate::state::ENV_SIM_HOST, &host.server_uuid);
    // The simulated hosts' disk is the developer's (see `env.sh`): the collector's reserve
    // setting for it is a simulation variable too.
    if let Some(reserve) = std::env::var_os(SIM_MIN_FREE_VAR) {
        cmd.env(SIM_MIN_FREE_VAR, reserve);
    }
    match exec::run(cmd, timeout) {
        Ok(done) => Outcome::Ran {
            exit_status: done.exit_status,
            stdout: rewrite::unrewrite(&done.stdout, &root),
            stderr: rewrite::unrewrite(&done.stderr, &root),
        },
        Err(exec::ExecError::TimedOut) => Outcome::Failed {
            message: format!("timeout for host {}", host.server_uuid),
        },
        Err(exec::ExecError::Spawn(e)) => Outcome::Failed {
            message: format!(
                "failure for host {}: connection interrupted: {e}",
                host.server_uuid
            ),
        },
    }
}

/// `-g FILE -d DIR`: the node fetches this node's FILE into its DIR/<basename> (urclient
/// `send_file`: refuses an existing file unless clobbering, and a missing DIR).
fn send_file(sim: &Sim, host: &Host, file: &str, dir: &str, clobber: bool) -> Outcome {
    let failed = |message: String| Outcome::Failed { message };
    let data = match std::fs::read(file) {
        Ok(data) => data,
        Err(e) => return failed(format!("could not read input file \"{file}\": {e}")),
    };
    let name = Path::new(file)
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let target_dir = sim.state.host_path(&sim.dir, host, dir);
    let target = target_dir.join(name);
    if !clobber && target.is_file() {
        return failed("file exists already".to_string());
    }
    if !target_dir.is_dir() {
        return failed("target is not a directory".to_string());
    }
    let tmp = target_dir.join(format!(".oneachnode.{}.tmp", std::process::id()));
    match std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, &target)) {
        Ok(()) => Outcome::Transferred,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            failed(format!("curl failed to receive file: {e}"))
        }
    }
}

/// `-p FILE -d DIR`: the node sends its FILE, stored here as DIR/<node uuid> (urclient
/// `recv_file`, which overwrites).
fn receive_file(sim: &Sim, host: &Host, file: &str, dir: &str) -> Outcome {
    let source = sim.state.host_path(&sim.dir, host, file);
    if !source.is_file() {
        return Outcome::Failed {
            message: "file does not exist".to_string(),
        };
    }
    let target: PathBuf = Path::new(dir).join(&host.server_uuid);
    match std::fs::copy(&source, &target) {
        Ok(_) => Outcome::Transferred,
        Err(e) => Outcome::Failed {
            message: format!("could not write output file \"{file}\": {e}"),
        },
    }
}

/// Everything printed on stdout.
fn render(opts: &Options, mut results: Vec<NodeResult>) -> String {
    if opts.quiet {
        return String::new();
    }
    let listonly =
        results.iter().all(|r| matches!(r.outcome, Outcome::Listed)) && !results.is_empty();
    if opts.immediate {
        return render_immediate(opts, &results);
    }
    let can_terse = results.iter().all(|r| r.non_empty_lines().len() <= 1);
    results.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    if opts.json {
        let array: Vec<serde_json::Value> = results.iter().map(NodeResult::to_json).collect();
        return format!(
            "{}\n",
            crate::jsonfmt::compact(&serde_json::Value::Array(array))
        );
    }
    let transfer = matches!(opts.work, Work::Send { .. } | Work::Receive { .. });
    let mut out = String::new();
    for (i, r) in results.iter().enumerate() {
        if listonly {
            if i == 0 {
                out.push_str(&output::list_row("UUID", "HOSTNAME"));
            }
            out.push_str(&output::list_row(&r.uuid, &r.hostname));
        } else if transfer || can_terse || opts.oneline {
            if i == 0 {
                out.push_str(&output::terse_header());
            }
            out.push_str(&output::terse_row(r));
        } else {
            out.push_str(&output::multi_line(r));
        }
    }
    out
}

/// `-I`/`-J`: each result as it arrives (node order here), unsorted.
fn render_immediate(opts: &Options, results: &[NodeResult]) -> String {
    let mut out = String::new();
    for (i, r) in results.iter().enumerate() {
        if opts.json {
            out.push_str(&crate::jsonfmt::compact(&r.to_json()));
            out.push('\n');
        } else if matches!(r.outcome, Outcome::Listed) {
            if i == 0 {
                out.push_str(&output::list_row("UUID", "HOSTNAME"));
            }
            out.push_str(&output::list_row(&r.uuid, &r.hostname));
        } else if opts.oneline {
            if i == 0 {
                out.push_str(&output::terse_header());
            }
            out.push_str(&output::terse_row(r));
        } else {
            out.push_str(&output::multi_line(r));
        }
    }
    out
}

/// `-v` diagnostics: `[<ms since start, width 6>] message` on stderr, then a blank line before
/// any final error.
struct Verbose {
    enabled: bool,
    started: Instant,
    text: String,
}

impl Verbose {
    fn new(enabled: bool) -> Verbose {
        Verbose {
            enabled,
            started: Instant::now(),
            text: String::new(),
        }
    }

    fn line(&mut self, message: &str) {
        if self.enabled {
            let ms = self.started.elapsed().as_millis();
            self.text.push_str(&format!("[{ms:>6}] {message}\n"));
        }
    }

    fn finish(&mut self) -> String {
        let mut text = std::mem::take(&mut self.text);
        if !text.is_empty() {
            text.push('\n');
        }
        text
    }
}
