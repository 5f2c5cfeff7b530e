//! Every simulated-datacenter scenario, end to end: `triton-sim create` → `triton-collect --vm` on
//! the simulated headnode (with the compute-node fan-out through the fake `sdc-oneachnode`) →
//! `triton-analyze --format json` → compared with the scenario's `expected.json`.

mod common;

use std::path::Path;

use serde_json::Value;

/// Scenarios the tools do not get right yet, each with what is missing. The test fails when one
/// of them starts passing, so this list only ever shrinks and never hides a regression.
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// What went wrong for one scenario, or `Ok` with nothing to say.
fn run_scenario(scenario: &str, work: &Path) -> Result<(), String> {
    let dc = work.join("dc");
    let expected = common::create_datacenter(scenario, &dc);
    let provision = &expected["provisions"][0];
    let vm = provision["vm_uuid"]
        .as_str()
        .ok_or("expected.json has no vm_uuid")?;

    let bundle = work.join("bundle.tar.gz");
    let output = common::collect(&dc, &["--vm", vm], &bundle);
    let status = output.status.code();
    if !matches!(status, Some(0) | Some(1)) || !bundle.exists() {
        return Err(format!(
            "triton-collect exited {status:?} without a bundle:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let sha_file = work.join("bundle.tar.gz.sha256");
    if !sha_file.exists() {
        return Err("no .sha256 file beside the bundle".into());
    }

    let report = common::analyze_json(&[&bundle]);
    let found = report["provisions"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["vm_uuid"] == provision["vm_uuid"]))
        .ok_or_else(|| format!("no provision for vm {vm} in the report"))?;
    check_provision(provision, found, &report)
}

fn check_provision(expected: &Value, found: &Value, report: &Value) -> Result<(), String> {
    let mut problems = Vec::new();
    let want_key = &expected["diagnosis"];
    if &found["diagnosis"]["key"] != want_key {
        problems.push(format!(
            "diagnosis {} (wanted {want_key})",
            found["diagnosis"]["key"]
        ));
    }
    if !expected["failed_task"].is_null() && found["failed_task"] != expected["failed_task"] {
        problems.push(format!(
            "failed task {} (wanted {})",
            found["failed_task"], expected["failed_task"]
        ));
    }
    if !expected["job_uuid"].is_null() && found["job_uuid"] != expected["job_uuid"] {
        problems.push(format!(
            "job {} (wanted {})",
            found["job_uuid"], expected["job_uuid"]
        ));
    }

    // The decisive evidence: at least one expected file line must be cited, in the bundle, at the
    // right host, path and line.
    let wanted_files: Vec<&Value> = expected["evidence"]
        .as_array()
        .map(|all| all.iter().filter(|e| e["path"].is_string()).collect())
        .unwrap_or_default();
    if !wanted_files.is_empty() {
        let cited: Vec<&Value> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["vm_uuid"] == expected["vm_uuid"])
            .flat_map(|f| f["evidence"].as_array().into_iter().flatten())
            .collect();
        let hit = wanted_files.iter().any(|want| {
            cited.iter().any(|got| {
                got["place"]["host"] == want["host"]
                    && got["place"]["host_path"] == want["path"]
                    && got["line"] == want["line"]
            })
        });
        if !hit {
            let wanted: Vec<String> = wanted_files
                .iter()
                .map(|w| format!("{}:{}", w["path"], w["line"]))
                .collect();
            problems.push(format!(
                "none of the expected evidence lines is cited ({})",
                wanted.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn every_scenario_is_diagnosed_end_to_end() {
    let scenarios = common::scenarios();
    assert!(
        scenarios.len() >= 12,
        "triton-sim lists only {} scenarios",
        scenarios.len()
    );
    let work = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut fixed = Vec::new();
    for scenario in &scenarios {
        let dir = work.path().join(scenario);
        let outcome = run_scenario(scenario, &dir);
        let gap = KNOWN_GAPS.iter().find(|(name, _)| name == scenario);
        match (outcome, gap) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) => fixed.push(scenario.clone()),
            (Err(problem), None) => failures.push(format!("{scenario}: {problem}")),
            (Err(_), Some(_)) => {}
        }
    }
    assert!(
        fixed.is_empty(),
        "these scenarios now pass: remove them from KNOWN_GAPS: {fixed:?}"
    );
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed end to end:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
