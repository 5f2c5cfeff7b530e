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
    collect_seeded(scenario, 1, tmp)
}

/// As [`collect`], for the datacenter of `seed` (different seeds, different host uuids).
fn collect_seeded(scenario: &str, seed: u64, tmp: &Path) -> (Value, PathBuf) {
    let dir = tmp.join("dc");
    let out = Command::new(&tools().sim)
        .args([
            "create",
            "--scenario",
            scenario,
            "--seed",
            &seed.to_string(),
            "--out",
        ])
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
    let mut cmd = triton_test_support::headnode_collector(&tools().collect, &dir);
    cmd.arg("--out").arg(&bundles).arg("-q");
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

/// Each scenario's bundle alone, then all of them together: the fleet summary groups the
/// provisions by diagnosis and error across bundles. (One test, so each bundle is collected
/// once.) Each scenario gets its own seed, so the bundles come from datacenters with different
/// hosts, as a support engineer's bundles from several customers would.
#[test]
fn collector_bundles_one_by_one_and_as_a_fleet() {
    let scenarios = [
        "kvm-qemu-out-of-memory",
        "kvm-qemu-mlock",
        "no-allocatable-servers",
        "image-import-race",
        "zone-setup-failed-destroyed",
    ];
    let tmp = tempfile::tempdir().expect("tmp");
    let mut collected = Vec::new();
    for (seed, scenario) in (11u64..).zip(scenarios) {
        let dir = tmp.path().join(scenario);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let (expected, bundle) = collect_seeded(scenario, seed, &dir);
        let out = run_paths(&["--format", "json"], &[&bundle]);
        assert_eq!(out.status.code(), Some(0), "{scenario}: {}", stderr(&out));
        let report = json(&out);
        check(scenario, &expected, &report);
        assert_eq!(report["inputs"][0]["manifest"], true);
        collected.push((expected, bundle));
    }
    let bundles: Vec<&Path> = collected.iter().map(|(_, b)| b.as_path()).collect();
    let expected: Vec<&Value> = collected
        .iter()
        .flat_map(|(e, _)| e["provisions"].as_array().into_iter().flatten())
        .collect();
    check_fleet(
        &expected,
        &json(&run_paths(&["--format", "json"], &bundles)),
        &stdout(&run_paths(&[], &bundles)),
    );
}

/// The fleet summary's groups, against the expected provisions of every bundle.
fn check_fleet(expected: &[&Value], report: &Value, markdown: &str) {
    let total = expected.len();
    let mut by_key: std::collections::BTreeMap<&str, Vec<&Value>> = Default::default();
    for p in expected {
        by_key
            .entry(p["diagnosis"].as_str().expect("diagnosis"))
            .or_default()
            .push(p);
    }
    assert!(
        by_key.values().any(|ps| ps.len() > 1),
        "the scenarios must share a diagnosis for grouping to show"
    );
    let fleet = report["fleet"].as_array().expect("fleet");
    assert_eq!(
        fleet.len(),
        by_key.len(),
        "one group per diagnosis: {fleet:?}"
    );
    assert!(markdown.contains("### Across all inputs\n"), "{markdown}");
    for (key, members) in &by_key {
        let mut servers: Vec<&str> = members
            .iter()
            .filter_map(|p| p["server_uuid"].as_str())
            .collect();
        servers.sort();
        servers.dedup();
        let group = fleet
            .iter()
            .find(|g| g["key"] == *key)
            .unwrap_or_else(|| panic!("no fleet group {key}: {fleet:?}"));
        assert_eq!(group["count"], members.len(), "{group}");
        assert_eq!(group["of"], total, "{group}");
        assert_eq!(group["servers"], serde_json::json!(servers), "{group}");
        let ids: Vec<&str> = group["provisions"]
            .as_array()
            .expect("provisions")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for p in members {
            if let Some(job) = p["job_uuid"].as_str() {
                assert!(ids.contains(&job), "{key}: {job} not in {ids:?}");
            }
        }
        // `- 2 of 5 provisions: `kvm-qemu-out-of-memory` — <error> on CN `<uuid>``
        let head = format!("- {} of {total} provisions: `{key}`", members.len());
        let line = markdown
            .lines()
            .find(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("no line {head:?} in\n{markdown}"));
        if servers.is_empty() {
            assert!(!line.contains(" on CN "), "{line}");
        } else {
            let on: Vec<String> = servers.iter().map(|s| format!("`{s}`")).collect();
            assert!(
                line.ends_with(&format!(" on CN {}", on.join(", "))),
                "{line}"
            );
        }
        if members.len() > 1 {
            // The members' errors differ only in their VM uuids.
            assert!(line.contains("&lt;uuid&gt;"), "{line}");
        }
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
