//! Clock offsets of compute nodes against the headnode, estimated by the analyzer from CNAPI
//! tasks seen on both sides, checked against the skew the simulator gave each node.
//!
//! The simulator's own files say what that skew is, independently of the log records the
//! analyzer pairs: a CN agent names each task's log after the time it started the task, in the
//! node's clock (`/var/log/<agent>/logs/<epoch ms>-<pid>-<task>.log`), and CNAPI's task object
//! (`DIR/sim/state.json` `api.tasks[]`) carries the headnode time it created the task. The two
//! instants are tens of milliseconds apart in real time, so their difference is the node's skew.

mod common;
mod scenario;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use common::*;
use scenario::{attach, create};

fn epoch_ms(time: &str) -> i64 {
    time.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("time {time}: {e}"))
        .as_millisecond()
}

/// Per compute node: task log start (CN clock) minus CNAPI task creation (HN clock), smallest
/// over the node's tasks.
fn simulated_skews(dc: &Path) -> BTreeMap<String, i64> {
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(dc.join("sim/state.json")).expect("state.json"),
    )
    .expect("state.json is JSON");
    let mut skews: BTreeMap<String, i64> = BTreeMap::new();
    for task in state["api"]["tasks"].as_object().into_iter().flatten() {
        let (id, task) = task;
        let (Some(server), Some(created)) =
            (task["server_uuid"].as_str(), task["timestamp"].as_str())
        else {
            continue;
        };
        let needle = format!("\"task_id\":\"{id}\"");
        for agent in ["cn-agent", "provisioner"] {
            let dir = dc
                .join("cn")
                .join(server)
                .join("var/log")
                .join(agent)
                .join("logs");
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if !text.contains(&needle) {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let started: i64 = name
                    .split('-')
                    .next()
                    .and_then(|ms| ms.parse().ok())
                    .unwrap_or_else(|| panic!("task log name {name}"));
                let skew = started - epoch_ms(created);
                let best = skews.entry(server.to_string()).or_insert(skew);
                *best = (*best).min(skew);
            }
        }
    }
    skews
}

/// Runs the analyzer over the scenario as hand-made directories; checks every estimated offset
/// against the simulated skew, within `tolerance_ms`, and that the provision's node has one.
fn check(scenario: &str, tolerance_ms: i64) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dc = tmp.path().join("dc");
    let expected = create(scenario, &dc);
    let attached = tmp.path().join("attached");
    attach(&dc, &expected, &attached);
    let skews = simulated_skews(&dc);
    let server = expected["provisions"][0]["server_uuid"]
        .as_str()
        .expect("the provision has a server");
    let want = *skews
        .get(server)
        .unwrap_or_else(|| panic!("{scenario}: no task log of {server} in the simulator's files"));
    assert!(
        want.abs() > 200,
        "{scenario}: the simulated skew of {server} ({want} ms) is too small to tell anything"
    );

    let out = run_paths(
        &["--format", "json"],
        &[&dc.join("cn"), &dc.join("hn"), &attached],
    );
    assert_eq!(out.status.code(), Some(0), "{scenario}: {}", stderr(&out));
    let report = json(&out);
    let offsets = report["clock_offsets"].as_array().expect("clock_offsets");
    let mut checked = 0;
    for o in offsets {
        let host = o["host"].as_str().expect("host");
        let got = o["offset_ms"].as_i64().expect("offset_ms");
        assert!(o["pairs"].as_u64().unwrap_or(0) >= 1, "{scenario}: {o}");
        let Some(&want) = skews.get(host) else {
            continue;
        };
        assert!(
            (got - want).abs() <= tolerance_ms,
            "{scenario}: CN {host} estimated {got} ms, simulated {want} ms"
        );
        // An upper bound of the skew: never much below it.
        assert!(got >= want - 100, "{scenario}: CN {host}: {got} < {want}");
        checked += 1;
    }
    assert!(
        offsets.iter().any(|o| o["host"] == server),
        "{scenario}: no offset for the provision's CN {server}: {offsets:?}"
    );
    assert!(checked >= 1);

    // The markdown says it under the timeline, and orders the CN's records in headnode time.
    let md = stdout(&run_paths(
        &[],
        &[&dc.join("cn"), &dc.join("hn"), &attached],
    ));
    let line = md
        .lines()
        .find(|l| l.starts_with("clock offsets: "))
        .unwrap_or_else(|| panic!("{scenario}: no clock offsets line:\n{md}"));
    assert!(line.contains(&format!("CN `{server}` ≈ ")), "{line}");
    assert!(line.contains(" vs HN (from "), "{line}");
    let timeline = &report["provisions"][0]["timeline"];
    let corrected: Vec<&Value> = timeline
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["place"]["host"] == server)
        .collect();
    assert!(!corrected.is_empty(), "{scenario}: no entry of {server}");
    for e in corrected {
        let time = epoch_ms(e["time"].as_str().expect("time"));
        let fixed = epoch_ms(e["corrected_time"].as_str().expect("corrected_time"));
        assert_eq!(
            time - fixed,
            e["clock_offset_ms"].as_i64().expect("offset"),
            "{e}"
        );
    }
}

#[test]
fn cnapi_task_records_give_a_tight_offset() {
    // 8.2: CNAPI logs `Task id = <id>` when it creates the task.
    check("kvm-qemu-out-of-memory", 250);
}

#[test]
fn a_job_task_start_gives_a_looser_bound() {
    // 7.0: only the job's `cnapi.provision_vm` start (its `taskId`) is headnode-side.
    check("zone-setup-failed-legacy", 1000);
}
