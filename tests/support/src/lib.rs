//! What the end-to-end tests of every crate share: the real workspace binaries, built once per
//! test process with the test's own profile, and simulated datacenters made by the real
//! `triton-sim`.
//!
//! Tests must drive the binaries as they are now, never a stale copy left in the target
//! directory, so every binary goes through `cargo build` (a no-op when it is up to date).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The binary of a workspace package whose binary has the package's name (`triton-collect`,
/// `triton-analyze`, `triton-sim`, `triton-fake`, ...), built now if it is not up to date.
pub fn workspace_bin(package: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Held while building so that two tests in one process do not build the same package twice.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let run = escargot::CargoBuild::new()
        .package(package)
        .bin(package)
        .current_release()
        .current_target()
        .run()
        .unwrap_or_else(|e| panic!("cannot build {package}: {e}"));
    let path = run.path().to_path_buf();
    built.insert(package.to_owned(), path.clone());
    path
}

/// `triton-sim`, with the `triton-fake` binary it installs as the fake commands built beside it.
pub fn simulator() -> PathBuf {
    workspace_bin("triton-fake");
    workspace_bin("triton-sim")
}

/// Runs a freshly built binary. A concurrent `cargo build` may be replacing it at that moment
/// ("text file busy"), so starting it is retried a few times.
pub fn run(command: &mut Command) -> Output {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match command.output() {
            Ok(output) => return output,
            Err(e) if attempt < 5 => {
                eprintln!(
                    "could not start {:?} ({e}); retrying",
                    command.get_program()
                );
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => panic!("cannot run {:?}: {e}", command.get_program()),
        }
    }
}

/// Fails the test with the command's output unless it succeeded.
pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `triton-sim create --scenario NAME --seed SEED --out DIR [EXTRA...]`; returns the parsed
/// `DIR/expected.json`.
pub fn create_datacenter(
    scenario: &str,
    seed: u64,
    dir: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let output = run(Command::new(simulator())
        .args(["create", "--scenario", scenario, "--seed"])
        .arg(seed.to_string())
        .args(extra)
        .arg("--out")
        .arg(dir));
    assert_success(&format!("triton-sim create --scenario {scenario}"), &output);
    let path = dir.join("expected.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// Every scenario `triton-sim list` knows, by name, the default first.
pub fn scenarios() -> Vec<String> {
    let output = run(Command::new(simulator()).arg("list"));
    assert_success("triton-sim list", &output);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `collector --root DIR/hn` in the environment `. DIR/env.sh` gives: the fake commands first on
/// PATH, the datacenter's directory, the headnode's identity, and the low free-space reserve of a
/// simulated host (the production reserve would refuse to write on a nearly full build machine).
pub fn headnode_collector(collector: &Path, dc: &Path) -> Command {
    let mut command = Command::new(collector);
    command
        .env("PATH", path_with_fakes(dc))
        .env("TRITON_SIM_DIR", dc)
        .env("TRITON_COLLECT_MIN_FREE_BYTES", SIM_MIN_FREE)
        .env_remove("TRITON_SIM_HOST")
        .env_remove("TRITON_COLLECT_ROOT")
        .arg("--root")
        .arg(dc.join("hn"));
    command
}

/// The free-space reserve a simulated datacenter's `env.sh` gives the collector.
pub const SIM_MIN_FREE: &str = "1MiB";

/// `PATH` with a simulated datacenter's fake commands first, as `. DIR/env.sh` sets it.
pub fn path_with_fakes(dc: &Path) -> OsString {
    let mut paths = vec![dc.join("bin")];
    if let Some(current) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&current));
    }
    std::env::join_paths(paths).expect("PATH entries without ':'")
}

pub mod hostile;
