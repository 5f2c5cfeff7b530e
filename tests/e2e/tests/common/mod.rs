//! Drives the real binaries: `triton-sim` makes a datacenter, `triton-collect` runs on its headnode
//! with the fake commands first on PATH, `triton-analyze` reads the bundle.

// Each test file uses its own part of this module.
#![allow(dead_code, unused_imports)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use triton_test_support::{assert_success, headnode_collector, run, workspace_bin};

pub use triton_test_support::scenarios;

/// `triton-sim create --scenario NAME --out DIR` with the default seed; returns `expected.json`.
pub fn create_datacenter(scenario: &str, dir: &Path) -> Value {
    triton_test_support::create_datacenter(scenario, 1, dir, &[])
}

/// Runs `triton-collect` on the simulated headnode the way the customer would after `. env.sh`.
/// Returns the process output; the bundle is at `out`.
pub fn collect(dc: &Path, args: &[&str], out: &Path) -> Output {
    run(headnode_collector(&workspace_bin("triton-collect"), dc)
        .args(args)
        .arg("--out")
        .arg(out))
}

/// `triton-analyze --format json PATH...`, parsed.
pub fn analyze_json(inputs: &[&Path]) -> Value {
    let output = run(Command::new(workspace_bin("triton-analyze"))
        .args(["--format", "json"])
        .args(inputs));
    assert_success("triton-analyze --format json", &output);
    serde_json::from_slice(&output.stdout).expect("analyzer JSON output parses")
}
