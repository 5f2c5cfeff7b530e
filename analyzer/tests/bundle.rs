//! Real collector bundles of simulated datacenters: `triton-collect` run against the sim (its fake
//! `sdc-*`/`sdc-oneachnode`/`zfs`/... commands), then the analyzer over the bundle it wrote.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::*;

struct Tools {
    sim: PathBuf,
    collect: PathBuf,
}

fn tools() -> Tools {
    Tools {
        sim: triton_test_support::simulator(),
        collect: triton_test_support::workspace_bin("triton-collect"),
    }
}

/// Creates the scenario, runs the collector for its VMs, returns (expected, bundle path).
fn collect(scenario: &str, tmp: &Path) -> (Value, PathBuf) {
    let dir = tmp.join("dc");
    let out = Command::new(&tools().sim)
        .args(["create", "--scenario", scenario, "--out"])
        .arg(&dir)
        .output()
        .expect("triton-sim");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("read"))
            .expect("json");
    let bundles = tmp.join("bundles");
    std::fs::create_dir_all(&bundles).expect("mkdir");
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(&tools().collect);
    cmd.env("PATH", path)
        .env("TRITON_SIM_DIR", &dir)
        .arg("--root")
        .arg(dir.join("hn"))
        .arg("--out")
        .arg(&bundles)
        .arg("-q");
    for p in expected["provisions"].as_array().into_iter().flatten() {
        if let Some(vm) = p["vm_uuid"].as_str() {
            cmd.args(["--vm", vm]);
        }
    }
    let out = cmd.output().expect("triton-collect");
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "triton-collect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = std::fs::read_dir(&bundles)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle was written");
    (expected, bundle)
}

fn check(scenario: &str, expected: &Value, report: &Value) {
    let empty = Vec::new();
    for want in expected["provisions"].as_array().unwrap_or(&empty) {
        let got = report["provisions"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|p| p["vm_uuid"] == want["vm_uuid"] && p["job_uuid"] == want["job_uuid"])
            .unwrap_or_else(|| panic!("{scenario}: provision {} missing", want["vm_uuid"]));
        assert_eq!(got["diagnosis"]["key"], want["diagnosis"], "{scenario}");
        assert_eq!(got["failed_task"], want["failed_task"], "{scenario}");
        let evidence: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter(|f| f["provision"] == got["id"])
            .flat_map(|f| f["evidence"].as_array().into_iter().flatten())
            .collect();
        for ev in want["evidence"].as_array().unwrap_or(&empty) {
            if let (Some(path), Some(line)) = (ev["path"].as_str(), ev["line"].as_u64()) {
                assert!(
                    evidence.iter().any(|e| e["place"]["host_path"] == path
                        && e["line"] == line
                        && e["place"]["host"] == ev["host"]),
                    "{scenario}: evidence {}:{path}:{line} not cited",
                    ev["host"]
                );
            }
        }
    }
}

#[test]
fn collector_bundles_of_four_scenarios() {
    for scenario in [
        "kvm-qemu-out-of-memory",
        "no-allocatable-servers",
        "image-import-race",
        "zone-setup-failed-destroyed",
    ] {
        let tmp = tempfile::tempdir().expect("tmp");
        let (expected, bundle) = collect(scenario, tmp.path());
        let out = run_paths(&["--format", "json"], &[&bundle]);
        assert_eq!(out.status.code(), Some(0), "{scenario}: {}", stderr(&out));
        let report = json(&out);
        check(scenario, &expected, &report);
        assert_eq!(report["inputs"][0]["manifest"], true);
    }
}

#[test]
fn same_bundle_twice_counts_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, bundle) = collect("kvm-qemu-out-of-memory", tmp.path());
    let copy = tmp.path().join("copy-of-bundle.tar.gz");
    std::fs::copy(&bundle, &copy).expect("copy");
    let once = json(&run_paths(&["--format", "json"], &[&bundle]));
    let twice = json(&run_paths(
        &["--format", "json", "-j", "2"],
        &[&bundle, &copy],
    ));
    assert_eq!(
        once["provisions"].as_array().map(Vec::len),
        twice["provisions"].as_array().map(Vec::len)
    );
    let count = |r: &Value| r["findings"][0]["evidence"].as_array().map(Vec::len);
    assert_eq!(
        count(&once),
        count(&twice),
        "the same evidence in two bundles counts once"
    );
}
