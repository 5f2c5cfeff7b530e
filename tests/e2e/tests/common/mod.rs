//! Drives the real binaries: `triton-sim` makes a datacenter, `triton-collect` runs on its headnode
//! with the fake commands first on PATH, `triton-analyze` reads the bundle.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// Paths of the workspace binaries, built once per test process with the test's own profile.
pub struct Bins {
    pub sim: PathBuf,
    pub collect: PathBuf,
    pub analyze: PathBuf,
}

pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(|| {
        let build = |package: &str| -> PathBuf {
            let run = escargot::CargoBuild::new()
                .package(package)
                .bin(package)
                .current_release()
                .current_target()
                .run()
                .unwrap_or_else(|e| panic!("cannot build {package}: {e}"));
            run.path().to_path_buf()
        };
        // triton-sim finds the fake commands' binary next to itself.
        build("triton-fake");
        Bins {
            sim: build("triton-sim"),
            collect: build("triton-collect"),
            analyze: build("triton-analyze"),
        }
    })
}

fn check(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `triton-sim create --scenario NAME --out DIR`; returns the parsed `expected.json`.
pub fn create_datacenter(scenario: &str, dir: &Path) -> Value {
    let output = Command::new(&bins().sim)
        .args(["create", "--scenario", scenario, "--out"])
        .arg(dir)
        .output()
        .expect("run triton-sim");
    check(&format!("triton-sim create --scenario {scenario}"), &output);
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("read expected.json");
    serde_json::from_str(&text).expect("parse expected.json")
}

/// Every scenario `triton-sim list` knows, by name.
pub fn scenarios() -> Vec<String> {
    let output = Command::new(&bins().sim)
        .arg("list")
        .output()
        .expect("run triton-sim list");
    check("triton-sim list", &output);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Runs `triton-collect` on the simulated headnode the way the customer would after `. env.sh`.
/// Returns the process output; the bundle is at `out`.
pub fn collect(dc: &Path, args: &[&str], out: &Path) -> Output {
    let path = format!(
        "{}:{}",
        dc.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(&bins().collect)
        .env("PATH", path)
        .env("TRITON_SIM_DIR", dc)
        .env_remove("TRITON_SIM_HOST")
        .arg("--root")
        .arg(dc.join("hn"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run triton-collect")
}

/// `triton-analyze --format json PATH...`, parsed.
pub fn analyze_json(inputs: &[&Path]) -> Value {
    let output = Command::new(&bins().analyze)
        .args(["--format", "json"])
        .args(inputs)
        .output()
        .expect("run triton-analyze");
    check("triton-analyze --format json", &output);
    serde_json::from_slice(&output.stdout).expect("analyzer JSON output parses")
}
