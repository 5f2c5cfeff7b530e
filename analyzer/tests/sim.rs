//! Every simulated-datacenter scenario, analyzed as a customer's hand-made input: the raw host
//! trees (`DIR/cn/<uuid>`, `DIR/hn`, files at their original absolute paths, no manifest), plus
//! what a customer would attach by hand: the job(s) and the output of `zfs list -t all`,
//! `zpool history`, `imgadm get` and `svcs -xv` run on the CN. The result must match the
//! scenario's `expected.json`.

mod common;
mod scenario;

use serde_json::Value;

use common::*;
use scenario::{attach, create, scenarios};

fn check(scenario: &str, expected: &Value, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = Vec::new();
    for want in expected["provisions"].as_array().unwrap_or(&empty) {
        let got = report["provisions"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|p| p["vm_uuid"] == want["vm_uuid"] && p["job_uuid"] == want["job_uuid"]);
        let Some(got) = got else {
            problems.push(format!(
                "{scenario}: no provision for vm {} job {}",
                want["vm_uuid"], want["job_uuid"]
            ));
            continue;
        };
        if got["diagnosis"]["key"] != want["diagnosis"] {
            problems.push(format!(
                "{scenario}: diagnosis {} (want {})",
                got["diagnosis"]["key"], want["diagnosis"]
            ));
        }
        if got["failed_task"] != want["failed_task"] {
            problems.push(format!(
                "{scenario}: failed task {} (want {})",
                got["failed_task"], want["failed_task"]
            ));
        }
        // Every expected file evidence must be cited at its path and line.
        let cited: Vec<(String, u64)> = report["findings"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter(|f| f["provision"] == got["id"])
            .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| {
                Some((
                    e["place"]["host_path"].as_str()?.to_string(),
                    e["line"].as_u64()?,
                ))
            })
            .collect();
        for ev in want["evidence"].as_array().unwrap_or(&empty) {
            let (Some(path), Some(line)) = (ev["path"].as_str(), ev["line"].as_u64()) else {
                continue;
            };
            if !cited.iter().any(|(p, l)| p == path && *l == line) {
                problems.push(format!(
                    "{scenario}: evidence {path}:{line} ({}) not cited",
                    ev["contains"]
                ));
            }
        }
    }
    problems
}

#[test]
fn every_scenario_as_hand_made_directories() {
    let all = scenarios();
    assert!(
        all.iter().any(|s| s == "kvm-qemu-out-of-memory"),
        "scenarios: {all:?}"
    );
    let mut problems = Vec::new();
    for scenario in &all {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("dc");
        let expected = create(scenario, &dir);
        let attached = tmp.path().join("attached");
        attach(&dir, &expected, &attached);
        let out = run_paths(
            &["--format", "json"],
            &[&dir.join("cn"), &dir.join("hn"), &attached],
        );
        assert_eq!(out.status.code(), Some(0), "{scenario}: {}", stderr(&out));
        problems.extend(check(scenario, &expected, &json(&out)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn default_scenario_as_a_hand_made_tarball() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dc");
    let expected = create("kvm-qemu-out-of-memory", &dir);
    attach(&dir, &expected, &dir.join("attached"));
    // The customer's tarball: the CN trees (cn/<server>/...), the headnode tree and the attached
    // files; symbolic links are stored as links and must not be followed by the reader.
    let tgz = tmp.path().join("customer-files.tar.gz");
    let file = std::fs::File::create(&tgz).expect("create");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    tar.follow_symlinks(false);
    for part in ["cn", "hn", "attached"] {
        tar.append_dir_all(format!("case-42/{part}"), dir.join(part))
            .expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gzip");
    let out = run_paths(&["--format", "json"], &[&tgz]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let problems = check("kvm-qemu-out-of-memory (tarball)", &expected, &json(&out));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And the markdown names the vm.log line.
    let md = stdout(&run_paths(&[], &[&tgz]));
    assert!(md.contains("Failed to allocate memory"), "{md}");
}
