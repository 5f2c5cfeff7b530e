//! Simulated-datacenter scenarios as a customer's hand-made input: `triton-sim create`, then what
//! a customer attaches by hand (jobs, CN command output) as loose files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::write;

/// The `triton-sim` binary, freshly built, with `triton-fake` next to it where the sim expects it.
pub fn sim_binary() -> PathBuf {
    triton_test_support::simulator()
}

pub fn scenarios() -> Vec<String> {
    let out = Command::new(sim_binary())
        .arg("list")
        .output()
        .expect("triton-sim list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

pub fn create(scenario: &str, dir: &Path) -> Value {
    let out = Command::new(sim_binary())
        .args(["create", "--scenario", scenario, "--out"])
        .arg(dir)
        .output()
        .expect("triton-sim create");
    assert!(
        out.status.success(),
        "triton-sim create {scenario}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

/// Runs a fake command "on" a host, as the customer would have on the CN.
pub fn fake(dir: &Path, host: &str, args: &[&str]) -> String {
    let out = Command::new(dir.join("bin").join(args[0]))
        .args(&args[1..])
        .env("TRITON_SIM_HOST", host)
        .env("TRITON_SIM_DIR", dir)
        .output()
        .expect("fake command");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What a customer attaches: the jobs of the VMs and CN command output, as loose files.
pub fn attach(dir: &Path, expected: &Value, attached: &Path) {
    std::fs::create_dir_all(attached).expect("mkdir");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sim/state.json")).expect("state"))
            .expect("json");
    let empty = Vec::new();
    let jobs = state["api"]["jobs"].as_array().unwrap_or(&empty);
    let empty_p = Vec::new();
    for p in expected["provisions"].as_array().unwrap_or(&empty_p) {
        let vm = p["vm_uuid"].as_str().unwrap_or_default();
        let vm_jobs: Vec<&Value> = jobs
            .iter()
            .filter(|j| j["params"]["vm_uuid"] == vm)
            .collect();
        write(
            attached,
            &format!("jobs-{vm}.json"),
            &serde_json::to_string_pretty(&vm_jobs).expect("json"),
        );
        if let Some(job_uuid) = p["job_uuid"].as_str() {
            if let Some(job) = vm_jobs.iter().find(|j| j["uuid"] == job_uuid) {
                write(
                    attached,
                    &format!("job-{job_uuid}.json"),
                    &serde_json::to_string_pretty(job).expect("json"),
                );
                if let (Some(server), Some(image)) = (
                    p["server_uuid"].as_str(),
                    job["params"]["image_uuid"].as_str(),
                ) {
                    write(
                        attached,
                        "imgadm-get.txt",
                        &fake(dir, server, &["imgadm", "get", image]),
                    );
                }
            }
        }
        if let Some(server) = p["server_uuid"].as_str() {
            write(
                attached,
                "zfs-list.txt",
                &fake(dir, server, &["zfs", "list", "-t", "all"]),
            );
            write(
                attached,
                "zpool-history.txt",
                &fake(dir, server, &["zpool", "history"]),
            );
            write(
                attached,
                &format!("svcs-{vm}.txt"),
                &fake(dir, server, &["svcs", "-z", vm, "-xv"]),
            );
        }
    }
}
