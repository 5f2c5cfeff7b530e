//! One run of `sdc-sbcreate`: the host it runs on, what it prints, its xtrace log, and the files
//! gathered into the bundle directory (`TEMPDIR`, named by the server uuid).

use std::path::{Path, PathBuf};

use crate::commands;
use crate::sim::Sim;

/// The script's path on a node (sdc-headnode installs it in `/opt/smartdc/bin`, on compute
/// nodes through `cn_tools.tar.gz`); bash puts it in every xtrace line.
pub const SCRIPT: &str = "/opt/smartdc/bin/sdc-sbcreate";

pub struct Session<'s> {
    pub sim: &'s Sim,
    /// The directory standing for `/` of the host.
    pub root: PathBuf,
    /// `sysinfo`'s `Boot Parameters.headnode` is `"true"`.
    pub headnode: bool,
    /// `TEMPDIR` as the script names it, for the log.
    pub temp_dir: String,
    /// The simulated now, seconds since the epoch (file times in the archives).
    pub mtime: u64,
    /// Files (`Some`) and directories (`None`) of the bundle directory, by relative path.
    pub files: Vec<(String, Option<Vec<u8>>)>,
    pub stdout: String,
    pub stderr: Vec<u8>,
    /// What bash writes to the log (`BASH_XTRACEFD=4`) and what tar's `-v` adds to it.
    pub log: String,
}

impl<'s> Session<'s> {
    /// A session on the host the command runs on; `temp_dir` is set once known.
    pub fn new(sim: &'s Sim) -> Session<'s> {
        let root = sim.host_root(sim.host());
        let headnode = crate::jsonfmt::lookup(&sim.host().sysinfo, "Boot Parameters.headnode")
            .and_then(|v| v.as_str())
            == Some("true");
        let mtime = sim
            .now()
            .ok()
            .and_then(|t| u64::try_from(t.as_second()).ok())
            .unwrap_or(0);
        Session {
            sim,
            root,
            headnode,
            temp_dir: String::new(),
            mtime,
            files: Vec::new(),
            stdout: String::new(),
            stderr: Vec::new(),
            log: String::new(),
        }
    }

    /// One xtrace line: `<script>:<line>: <function>(): <command>`.
    pub fn trace(&mut self, line: u32, function: &str, command: &str) {
        let prefix = if function.is_empty() {
            String::new()
        } else {
            format!("{function}(): ")
        };
        self.log
            .push_str(&format!("{SCRIPT}:{line}: {prefix}{command}\n"));
    }

    /// `echo TEXT`: printed, and traced.
    pub fn echo(&mut self, line: u32, function: &str, text: &str) {
        self.trace(line, function, &format!("echo '{text}'"));
        self.stdout.push_str(text);
        self.stdout.push('\n');
    }

    /// Runs one of the simulation's commands as the script does (`cmd > file`): its stdout is
    /// returned, its stderr goes to the script's.
    pub fn command(&mut self, line: u32, function: &str, argv: &[&str]) -> Vec<u8> {
        self.trace(line, function, &argv.join(" "));
        let Some((name, rest)) = argv.split_first() else {
            return Vec::new();
        };
        let args: Vec<String> = rest.iter().map(|a| a.to_string()).collect();
        let reply = commands::dispatch(self.sim, name, &args);
        self.stderr.extend_from_slice(&reply.stderr);
        reply.stdout
    }

    /// As [`command`](Self::command), with its stderr dropped (`2>/dev/null`).
    pub fn command_quiet(&mut self, line: u32, function: &str, argv: &[&str]) -> Vec<u8> {
        let kept = self.stderr.len();
        let out = self.command(line, function, argv);
        self.stderr.truncate(kept);
        out
    }

    /// Adds `TEMPDIR/<name>`.
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.push((name.to_string(), Some(bytes)));
    }

    /// `mkdir -p TEMPDIR/<name>`.
    pub fn add_dir(&mut self, name: &str) {
        if !self.files.iter().any(|(n, _)| n == name) {
            self.files.push((name.to_string(), None));
        }
    }

    /// Where an absolute path of the host lives.
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// How the host names one of its files: `/var/tmp/x` for `DIR/<host root>/var/tmp/x`;
    /// a path outside the host tree is shown as it is.
    pub fn host_view(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => path.display().to_string(),
        }
    }
}
