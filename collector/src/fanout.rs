//! Collecting the compute nodes involved from the headnode: ship this program with
//! `sdc-oneachnode -g`, run it there in CN mode with the same scope and an explicit window, pull
//! the CN bundle back with `-p`, merge it into the one bundle, and remove what was left on the CN.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use triton_bundle::manifest::Manifest;
use triton_bundle::{Bundle, BundleWriter, FORMAT_FILE, MANIFEST_FILE};

use crate::exec::{self, CommandOutput, RunLimits};
use crate::timespec::rfc3339;
use crate::window::TimeWindow;

/// Where files go on a compute node (swap-backed on SmartOS, not the boot media).
pub const CN_TEMP_DIR: &str = "/var/tmp";
/// Time kept back from a CN's deadline for pulling and merging its bundle.
pub const PULL_RESERVE: Duration = Duration::from_secs(30);
/// Least time a file transfer gets (the program is several MiB, a CN bundle may be more).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);

/// What a compute node is asked to collect.
#[derive(Debug, Clone)]
pub struct CnRequest {
    pub vms: Vec<String>,
    pub jobs: Vec<String>,
    pub images: Vec<String>,
    pub window: TimeWindow,
    pub max_bytes: u64,
    pub max_file_bytes: u64,
    pub command_timeout: u64,
    pub deadline: u64,
    pub redact: bool,
}

impl CnRequest {
    /// The collector's arguments on the CN (without the program and `--out`).
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--cn-mode".into(),
            "--root".into(),
            "/".into(),
            "--cn".into(),
            "none".into(),
        ];
        for vm in &self.vms {
            args.extend(["--vm".to_string(), vm.clone()]);
        }
        for job in &self.jobs {
            args.extend(["--job".to_string(), job.clone()]);
        }
        for image in &self.images {
            args.extend(["--image".to_string(), image.clone()]);
        }
        args.extend([
            "--since".to_string(),
            rfc3339(self.window.since),
            "--until".to_string(),
            rfc3339(self.window.until),
            "--max-bytes".to_string(),
            self.max_bytes.to_string(),
            "--max-file-bytes".to_string(),
            self.max_file_bytes.to_string(),
            "--command-timeout".to_string(),
            self.command_timeout.to_string(),
            "--deadline".to_string(),
            self.deadline.to_string(),
        ]);
        if !self.redact {
            args.push("--no-redact".into());
        }
        args
    }

    /// The command to run on a CN by hand when the fan-out could not reach it.
    pub fn manual_command(&self, server: &str) -> String {
        let mut argv = vec!["./triton-collect".to_string()];
        argv.extend(self.args());
        argv.extend([
            "--out".to_string(),
            format!("{CN_TEMP_DIR}/triton-bundle-cn-{server}.tar.gz"),
        ]);
        shell_words::join(argv)
    }
}

/// The result for one compute node.
#[derive(Debug)]
pub struct CnOutcome {
    pub server: String,
    /// The pulled CN bundle on this machine.
    pub pulled: Option<PathBuf>,
    /// Why the CN could not be collected (or only partly).
    pub error: Option<String>,
    /// Problems cleaning up after it (recorded as notes).
    pub cleanup_error: Option<String>,
}

/// Names used for one run on the CNs.
pub struct FanoutNames {
    /// This program, copied under a unique name (the CN receives it under that basename).
    pub local_exe: PathBuf,
    /// `<CN_TEMP_DIR>/triton-collect-<id>` on the CN.
    pub remote_exe: String,
    /// `<CN_TEMP_DIR>/triton-collect-<id>.tar.gz` on the CN.
    pub remote_bundle: String,
    /// Local directory receiving the pulled bundles (named by CN uuid).
    pub local_dir: PathBuf,
}

impl FanoutNames {
    /// Prepares `local_dir` (created fresh, mode 0700) with a copy of this program in it.
    pub fn prepare(local_dir: &Path, run_id: &str) -> Result<FanoutNames, String> {
        create_private_dir(local_dir)
            .map_err(|e| format!("cannot create {}: {e}", local_dir.display()))?;
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
        let name = format!("triton-collect-{run_id}");
        let local_exe = local_dir.join(&name);
        std::fs::copy(&exe, &local_exe).map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                exe.display(),
                local_exe.display()
            )
        })?;
        let pulled = local_dir.join("pulled");
        create_private_dir(&pulled)
            .map_err(|e| format!("cannot create {}: {e}", pulled.display()))?;
        Ok(FanoutNames {
            local_exe,
            remote_exe: format!("{CN_TEMP_DIR}/{name}"),
            remote_bundle: format!("{CN_TEMP_DIR}/{name}.tar.gz"),
            local_dir: pulled,
        })
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir(dir)
    }
}

/// One `sdc-oneachnode -j` answer for one node.
#[derive(Debug, Default, PartialEq)]
pub struct NodeAnswer {
    /// The node's result: exit status of the command (0 for a transfer that worked).
    pub exit_status: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    /// The node's error (could not run, transfer failed).
    pub error: Option<String>,
}

/// Reads the `-j` JSON array for `server`.
pub fn parse_json_answer(stdout: &[u8], server: &str) -> Option<NodeAnswer> {
    let list: Value = serde_json::from_slice(stdout).ok()?;
    let node = list.as_array()?.iter().find(|n| {
        n.get("uuid")
            .and_then(Value::as_str)
            .is_some_and(|u| u.eq_ignore_ascii_case(server))
    })?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    Some(NodeAnswer {
        exit_status: node.pointer("/result/exit_status").and_then(Value::as_i64),
        stdout: text(node.pointer("/result/stdout")),
        stderr: text(node.pointer("/result/stderr")),
        error: node
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Runs `sdc-oneachnode` under the run's limits; cloneable so compute nodes are collected in
/// parallel.
#[derive(Debug, Clone)]
pub struct Executor {
    pub command_timeout: Duration,
    pub deadline: Instant,
    pub max_output: u64,
}

impl Executor {
    fn oneachnode(&self, args: &[&str], timeout: Duration) -> Result<CommandOutput, String> {
        let mut argv = vec!["sdc-oneachnode".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let limits = RunLimits {
            timeout: timeout.min(self.deadline.saturating_duration_since(Instant::now())),
            max_stdout: self.max_output,
        };
        exec::run(&argv, &limits, None).map_err(|e| format!("cannot run sdc-oneachnode: {e}"))
    }

    /// Time allowed for a file transfer (the program out, a bundle back).
    fn transfer_timeout(&self) -> Duration {
        self.command_timeout.max(TRANSFER_TIMEOUT)
    }
}

/// Copies this program to every CN at once (`-n a,b,c -g`); when that fails as a whole (a node
/// missing from discovery aborts the run with exit 10), copies node by node to tell which.
pub fn ship(
    exec: &Executor,
    names: &FanoutNames,
    servers: &[String],
) -> BTreeMap<String, Result<(), String>> {
    let exe = names.local_exe.to_string_lossy().to_string();
    let all = servers.join(",");
    let together = exec.oneachnode(
        &["-j", "-n", &all, "-g", &exe, "-d", CN_TEMP_DIR],
        exec.transfer_timeout(),
    );
    let mut results = BTreeMap::new();
    let whole_run_ok = together
        .as_ref()
        .is_ok_and(|o| o.status == Some(0) && !o.timed_out);
    for server in servers {
        let result = if whole_run_ok {
            node_ok(&together, server).map(|_| ())
        } else {
            let alone = exec.oneachnode(
                &["-j", "-n", server, "-g", &exe, "-d", CN_TEMP_DIR],
                exec.transfer_timeout(),
            );
            node_ok(&alone, server).map(|_| ())
        };
        results.insert(
            server.clone(),
            result.map_err(|e| format!("could not copy triton-collect to the CN: {e}")),
        );
    }
    results
}

/// Collects one CN that received the program: run it in CN mode, pull its bundle, clean up.
pub fn collect_cn(
    exec: &Executor,
    names: &FanoutNames,
    server: &str,
    request: &CnRequest,
) -> CnOutcome {
    let mut outcome = CnOutcome {
        server: server.to_string(),
        pulled: None,
        error: None,
        cleanup_error: None,
    };
    let mut remote = vec![names.remote_exe.clone()];
    remote.extend(request.args());
    remote.extend([
        "-q".to_string(),
        "--out".to_string(),
        names.remote_bundle.clone(),
    ]);
    // A received file is not executable (sdc-oneachnode does not keep the mode).
    let remote_command = format!(
        "chmod 0700 {} && {}",
        shell_words::quote(&names.remote_exe),
        shell_words::join(&remote)
    );
    let exec_timeout = (request.deadline + 30).to_string();
    let run = exec.oneachnode(
        &["-j", "-T", &exec_timeout, "-n", server, &remote_command],
        Duration::from_secs(request.deadline + 60),
    );
    let run_problem = match node_ok(&run, server) {
        Ok(answer) if matches!(answer.exit_status, Some(0 | 1)) => None,
        Ok(answer) => Some(format!(
            "triton-collect on the CN exited {}: {}",
            answer
                .exit_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into()),
            last_line(&format!("{}{}", answer.stdout, answer.stderr))
        )),
        Err(e) => Some(e),
    };

    let local_dir = names.local_dir.to_string_lossy().to_string();
    let pull = exec.oneachnode(
        &[
            "-j",
            "-n",
            server,
            "-p",
            &names.remote_bundle,
            "-d",
            &local_dir,
        ],
        exec.transfer_timeout(),
    );
    let pulled = names.local_dir.join(server);
    match node_ok(&pull, server) {
        Ok(_) if pulled.is_file() => outcome.pulled = Some(pulled),
        Ok(_) => {
            outcome.error = Some(format!(
                "the CN bundle did not arrive in {}{}",
                names.local_dir.display(),
                run_problem
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ))
        }
        Err(e) => {
            outcome.error = Some(match &run_problem {
                Some(p) => p.clone(),
                None => format!("could not pull the CN bundle: {e}"),
            })
        }
    }
    if outcome.pulled.is_some() {
        if let Some(p) = run_problem {
            outcome.error = Some(p);
        }
    }
    outcome.cleanup_error = cleanup(exec, names, server);
    outcome
}

/// Removes this run's files from a CN (the program, the bundle, its checksum, a partial bundle).
pub fn cleanup(exec: &Executor, names: &FanoutNames, server: &str) -> Option<String> {
    let command = format!(
        "rm -f {exe} {bundle} {bundle}.sha256 {dir}/.{name}.partial-*",
        exe = names.remote_exe,
        bundle = names.remote_bundle,
        dir = CN_TEMP_DIR,
        name = names.remote_bundle.rsplit('/').next().unwrap_or(""),
    );
    let clean = exec.oneachnode(&["-j", "-n", server, &command], exec.command_timeout);
    node_ok(&clean, server)
        .err()
        .map(|e| format!("could not remove {} on CN {server}: {e}", names.remote_exe))
}

/// The node's answer when `sdc-oneachnode` reached it; otherwise why not.
fn node_ok(result: &Result<CommandOutput, String>, server: &str) -> Result<NodeAnswer, String> {
    let out = result.as_ref().map_err(|e| e.clone())?;
    if out.timed_out {
        return Err(format!(
            "sdc-oneachnode timed out after {} s",
            out.duration.as_secs()
        ));
    }
    let answer = parse_json_answer(&out.stdout, server);
    match (out.status, answer) {
        (_, Some(NodeAnswer { error: Some(e), .. })) => Err(format!(
            "sdc-oneachnode exit {}: {e}",
            out.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into())
        )),
        (Some(0), Some(answer)) => Ok(answer),
        (Some(0), None) => Err("sdc-oneachnode gave no answer for the node".to_string()),
        (Some(10), _) => Err(
            "unreachable (sdc-oneachnode exit 10: the node did not answer discovery)".to_string(),
        ),
        (Some(20), _) => Err(format!(
            "sdc-oneachnode exit 20 (execution failure): {}",
            last_line(&String::from_utf8_lossy(&out.stderr))
        )),
        (status, _) => Err(format!(
            "sdc-oneachnode exit {}: {}",
            status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "signal".into()),
            last_line(&format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        )),
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Copies a pulled CN bundle's entries into `writer` and returns its manifest. Only entries
/// under `hosts/` are taken: a CN reports about itself, not about the APIs.
pub fn merge(writer: &mut BundleWriter, pulled: &Path) -> Result<(Manifest, Vec<String>), String> {
    let mut bundle = Bundle::open(pulled).map_err(|e| e.to_string())?;
    if !bundle.is_triton_bundle() {
        return Err(format!(
            "{} is not a triton support bundle",
            pulled.display()
        ));
    }
    let mut problems = Vec::new();
    let summary = bundle
        .for_each_entry(&mut |entry| {
            let rel = entry.path().to_string();
            if rel == FORMAT_FILE || rel == MANIFEST_FILE {
                return Ok(());
            }
            if !rel.starts_with("hosts/") {
                problems.push(format!("{rel}: outside hosts/, not merged"));
                return Ok(());
            }
            let size = entry.size();
            if let Err(e) = writer.add_reader(&rel, size, entry) {
                problems.push(format!("{rel}: {e}"));
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    for skipped in summary.skipped {
        problems.push(format!("{}: skipped ({})", skipped.path, skipped.reason));
    }
    let manifest = bundle
        .manifest()
        .cloned()
        .ok_or_else(|| format!("{} has no readable manifest.json", pulled.display()))?;
    Ok((manifest, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_answers() {
        let out = br#"[{"uuid":"S1","hostname":"cn1","result":{"exit_status":1,"stdout":"x","stderr":"y"}},
                      {"uuid":"s2","hostname":"cn2","error":{"message":"timeout"}}]"#;
        let a = parse_json_answer(out, "s1").expect("s1");
        assert_eq!(a.exit_status, Some(1));
        assert_eq!(a.stdout, "x");
        let b = parse_json_answer(out, "s2").expect("s2");
        assert_eq!(b.error.as_deref(), Some("timeout"));
        assert!(parse_json_answer(out, "s3").is_none());
        assert!(parse_json_answer(b"not json", "s1").is_none());
    }

    #[test]
    fn cn_arguments_carry_scope_and_window() {
        let request = CnRequest {
            vms: vec!["v1".into()],
            jobs: vec!["j1".into()],
            images: vec!["i1".into()],
            window: TimeWindow {
                since: "2024-01-18T04:00:00Z".parse().expect("ts"),
                until: "2024-01-18T05:00:00Z".parse().expect("ts"),
                derived_from: "test".into(),
            },
            max_bytes: 100,
            max_file_bytes: 10,
            command_timeout: 60,
            deadline: 300,
            redact: false,
        };
        let args = request.args().join(" ");
        assert!(
            args.contains("--cn-mode --root / --cn none --vm v1 --job j1 --image i1"),
            "{args}"
        );
        assert!(
            args.contains("--since 2024-01-18T04:00:00Z --until 2024-01-18T05:00:00Z"),
            "{args}"
        );
        assert!(args.ends_with("--no-redact"), "{args}");
        assert!(request
            .manual_command("s1")
            .ends_with("--out /var/tmp/triton-bundle-cn-s1.tar.gz"));
    }
}
