//! The real `triton-collect` binary on a bare host whose commands are small shell scripts the
//! test writes: priority inherited by the commands, running short of free space, `--upload`
//! through `sdc-sbupload`, and what stderr shows on a terminal and off one.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{stderr, ReadBundle};

/// A host with an empty file tree, fake platform commands in `bin/`, and an output directory.
struct BareHost {
    tmp: tempfile::TempDir,
}

const SERVER: &str = "564d0d6e-0000-4000-8000-000000000001";

impl BareHost {
    fn new() -> BareHost {
        let host = BareHost {
            tmp: tempfile::tempdir().expect("tempdir"),
        };
        for dir in ["root", "bin", "out"] {
            std::fs::create_dir(host.tmp.path().join(dir)).expect("mkdir");
        }
        host.command(
            "sysinfo",
            &format!(r#"printf '{{"UUID":"{SERVER}","Hostname":"cn-test"}}\n'"#),
        );
        host
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn bundle(&self) -> PathBuf {
        self.path("out/b.tar.gz")
    }

    /// Writes an executable `bin/<name>` running `body` with `/bin/sh`.
    fn command(&self, name: &str, body: &str) {
        let path = self.path("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write command");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// The collector as run on this host (a compute node: there is no `sdc-vmapi`).
    fn collector(&self, args: &[&str]) -> Command {
        let mut command = Command::new(common::collect_bin());
        command
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.path("bin").display()),
            )
            .env_remove("TRITON_COLLECT_ROOT")
            .env_remove("TRITON_SIM_DIR")
            .env(
                "TRITON_COLLECT_MIN_FREE_BYTES",
                triton_test_support::SIM_MIN_FREE,
            )
            .arg("--root")
            .arg(self.path("root"))
            .arg("--out")
            .arg(self.bundle())
            .args(args);
        command
    }

    fn collect(&self, args: &[&str]) -> Output {
        self.collector(args).output().expect("run triton-collect")
    }

    fn out_dir_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("out"))
            .expect("out dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn commands_run_at_the_lowest_cpu_and_io_priority() {
    let host = BareHost::new();
    // `nice` without arguments prints the niceness it runs at; `ps` says the same of the shell.
    host.command(
        "sysinfo",
        &format!(
            r#"io=$(ionice -p $$ 2>/dev/null || echo none)
printf '{{"UUID":"{SERVER}","Hostname":"cn-test","nice":"%s","ps_ni":"%s","ionice":"%s"}}\n' "$(nice)" "$(ps -o ni= -p $$ | tr -d ' ')" "$io""#
        ),
    );
    let out = host.collect(&[]);
    let err = stderr(&out);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{err}");
    let bundle = ReadBundle::open(&host.bundle());
    let sysinfo: serde_json::Value =
        serde_json::from_str(&bundle.text(&format!("hosts/{SERVER}/commands/sysinfo.out")))
            .expect("sysinfo json");
    assert_eq!(sysinfo["nice"], "19", "{sysinfo}");
    assert_eq!(sysinfo["ps_ni"], "19", "{sysinfo}");
    if cfg!(target_os = "linux") && sysinfo["ionice"] != "none" {
        assert_eq!(sysinfo["ionice"], "best-effort: prio 7", "{sysinfo}");
    }
    let notes = &bundle.manifest.notes;
    assert!(
        notes.iter().any(|n| n.starts_with("priority: CPU nice 19")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("priority: I/O")),
        "{notes:?}"
    );
}

const MIB: u64 = 1 << 20;

#[test]
fn running_short_of_space_finishes_an_incomplete_bundle_saying_where() {
    let host = BareHost::new();
    // `zfs list -t all` answers 3.4 MiB; with 1.5 MiB of room above the reserve and the 1 MiB
    // kept for finishing, it is cut to its last 0.5 MiB, and nothing after it is collected.
    host.command(
        "zfs",
        "seq 0 99999 | sed 's|.*|zones/dataset-& 1G 2G 3G /zones|'",
    );
    let listing: String = (0..100_000)
        .map(|i| format!("zones/dataset-{i} 1G 2G 3G /zones\n"))
        .collect();
    host.command("zpool", "echo pool history");
    let out = host.collect(&[
        "--min-free-bytes",
        "1MiB",
        "--assume-free-bytes",
        &(2 * MIB + MIB / 2).to_string(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("free space ran short"), "{err}");

    let bundle = ReadBundle::open(&host.bundle());
    assert!(!bundle.manifest.complete);
    let note = bundle
        .manifest
        .notes
        .iter()
        .find(|n| n.starts_with("free space ran short"))
        .expect("a note saying where space ran out");
    assert!(note.contains("zfs.list (zfs list -t all)"), "{note}");
    let zfs = bundle.items("zfs.list")[0];
    assert!(zfs.truncated, "{zfs:?}");
    assert!(zfs.bytes > MIB / 4 && zfs.bytes <= MIB / 2, "{zfs:?}");
    assert_eq!(zfs.original_bytes, Some(listing.len() as u64));
    // The tail is kept, from a line start.
    let kept = bundle.text(&format!("hosts/{SERVER}/commands/zfs-list.out"));
    assert!(listing.ends_with(&kept), "not the listing's tail");
    assert_eq!(listing.as_bytes()[listing.len() - kept.len() - 1], b'\n');
    let history = bundle.items("zpool.history")[0];
    assert!(
        history
            .error
            .as_deref()
            .is_some_and(|e| e.contains("short of space")),
        "{history:?}"
    );
    assert!(history.path.is_none());
    assert_eq!(host.out_dir_names(), ["b.tar.gz", "b.tar.gz.sha256"]);
}

#[test]
fn without_room_for_even_a_minimal_bundle_nothing_is_written() {
    let host = BareHost::new();
    let out = host.collect(&["--min-free-bytes", "1MiB", "--assume-free-bytes", "1MiB"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("not enough free space in"), "{err}");
    assert!(
        host.out_dir_names().is_empty(),
        "{:?}",
        host.out_dir_names()
    );

    // The same with the real file system: no disk has a million TiB to spare.
    let out = host.collect(&["--min-free-bytes", "1000000TiB"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("must stay free"), "{err}");
    assert!(
        host.out_dir_names().is_empty(),
        "{:?}",
        host.out_dir_names()
    );
}

/// A fake `sdc-sbupload` that logs its arguments and the uploaded file's first bytes.
fn fake_sbupload(host: &BareHost, body_after_log: &str) -> PathBuf {
    let log = host.path("sbupload.log");
    host.command(
        "sdc-sbupload",
        &format!(
            "echo \"args: $*\" >> '{}'\nfor last; do :; done\nhead -c 2 \"$last\" | od -An -tx1 >> '{}'\n{body_after_log}",
            log.display(),
            log.display()
        ),
    );
    log
}

fn exit_code_without_upload() -> Option<i32> {
    let host = BareHost::new();
    host.collect(&[]).status.code()
}

#[test]
fn upload_runs_sdc_sbupload_on_the_written_bundle() {
    let host = BareHost::new();
    let log = fake_sbupload(&host, "echo uploaded; exit 0");
    let out = host.collect(&["--upload", "--ticket", "SUP-1234"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), exit_code_without_upload(), "{err}");
    let log = std::fs::read_to_string(&log).expect("sdc-sbupload ran");
    let bundle = host.bundle();
    assert!(
        log.contains(&format!(
            "args: -I SUP-1234 -t triton-support {}",
            bundle.display()
        )),
        "{log}"
    );
    // It got the finished bundle (a gzip stream), already under its final name.
    assert!(log.contains("1f 8b"), "{log}");
    assert!(err.contains("upload: done"), "{err}");
    ReadBundle::open(&bundle);
}

#[test]
fn upload_without_sdc_sbupload_says_so_and_keeps_the_bundle() {
    let host = BareHost::new();
    let out = host.collect(&["--upload"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), exit_code_without_upload(), "{err}");
    assert!(err.contains("upload: sdc-sbupload is not on PATH"), "{err}");
    assert!(
        err.contains(&format!(
            "sdc-sbupload -t triton-support {}",
            host.bundle().display()
        )),
        "{err}"
    );
    ReadBundle::open(&host.bundle());
}

#[test]
fn upload_with_an_old_sdc_sbupload_retries_without_the_label() {
    let host = BareHost::new();
    // Versions before 2022: getopts "p:", anything else prints the usage line and exits 1.
    let log = fake_sbupload(
        &host,
        r#"case "$1" in -t|-I) echo "Usage: $0: [-p PROXY_URL] FILENAME"; exit 1;; esac; exit 0"#,
    );
    let out = host.collect(&["--upload"]);
    let err = stderr(&out);
    let log = std::fs::read_to_string(&log).expect("sdc-sbupload ran");
    assert!(
        log.contains(&format!("args: {}\n", host.bundle().display())),
        "{log}"
    );
    assert!(err.contains("does not know -t"), "{err}");
    assert!(err.contains("upload: done"), "{err}");
}

#[test]
fn a_failed_upload_is_reported_and_the_exit_status_stays_the_bundles() {
    let host = BareHost::new();
    fake_sbupload(&host, "echo 'ERROR: sbapi_http_user not in config'; exit 1");
    let out = host.collect(&["--upload", "-q"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), exit_code_without_upload(), "{err}");
    assert!(
        err.contains("upload: FAILED") && err.contains("ERROR: sbapi_http_user not in config"),
        "{err}"
    );
    assert!(err.contains("to try again: sdc-sbupload"), "{err}");
    ReadBundle::open(&host.bundle());
}

#[test]
fn off_a_terminal_progress_is_plain_lines_with_running_totals() {
    let host = BareHost::new();
    host.command("vmadm", "echo 'UUID TYPE RAM STATE ALIAS'");
    let out = host.collect(&[]);
    let err = stderr(&out);
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    let source_lines: Vec<&str> = err.lines().filter(|l| l.contains("] ")).collect();
    assert!(
        source_lines
            .iter()
            .any(|l| l.starts_with("triton-collect: [1/") && l.contains("(bundle so far: ")),
        "{err}"
    );
    // The running totals grow: sysinfo and vmadm list are in the bundle by the last line.
    let last = source_lines.last().expect("source lines");
    assert!(last.contains("(bundle so far: 2 file(s)"), "{last}");

    let quiet = host.collect(&["-q"]);
    let err = stderr(&quiet);
    assert!(!err.contains("[1/"), "{err}");
    assert!(err.contains("triton-collect: bundle: "), "{err}");
}

/// `script` (util-linux) runs a command on a pseudo-terminal and copies what it wrote.
fn script_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("script"))
        .find(|p| p.is_file())
}

fn on_a_terminal(host: &BareHost, args: &[&str], script: &Path) -> (Option<i32>, String) {
    let command = host.collector(args);
    let mut words: Vec<String> = vec![command.get_program().to_string_lossy().to_string()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().to_string()));
    let mut run = Command::new(script);
    run.args(["-q", "-e", "-c", &shell_words::join(&words), "/dev/null"])
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null());
    for (key, value) in command.get_envs() {
        match value {
            Some(v) => run.env(key, v),
            None => run.env_remove(key),
        };
    }
    let out = run.output().expect("run script");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn on_a_terminal_one_live_line_shows_source_totals_and_elapsed_time() {
    let Some(script) = script_program() else {
        eprintln!("skipped: no `script` program to make a pseudo-terminal");
        return;
    };
    let host = BareHost::new();
    // A command slow enough for the live line to be drawn while it runs.
    host.command("zpool", "sleep 1; echo pool");
    let (code, screen) = on_a_terminal(&host, &[], &script);
    assert!(code.is_some_and(|c| c <= 1), "{screen}");
    // The live line is redrawn in place (carriage return, erase line) and names the source
    // being collected, the running totals and the elapsed time.
    assert!(screen.contains("\r\x1b[2K"), "{screen:?}");
    let live: Vec<&str> = screen
        .split(['\r', '\n'])
        .filter(|l| l.contains("so far") && l.contains("triton-collect: ["))
        .collect();
    assert!(
        live.iter()
            .any(|l| l.contains("[00:00:0") && l.contains("zpool.") && l.contains("file(s)")),
        "{live:?}"
    );
    // The plain lines still scroll above it, and the summary ends the run.
    assert!(screen.contains("triton-collect: [1/"), "{screen:?}");
    assert!(screen.contains("triton-collect: bundle: "), "{screen:?}");

    let (_, quiet) = on_a_terminal(&host, &["-q"], &script);
    assert!(!quiet.contains("so far"), "{quiet:?}");
    assert!(!quiet.contains("[1/"), "{quiet:?}");
    assert!(quiet.contains("triton-collect: bundle: "), "{quiet:?}");
}
