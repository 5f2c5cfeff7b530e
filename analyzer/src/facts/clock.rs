//! How far each compute node's clock is off the headnode's, estimated from events seen on both
//! sides of the same CNAPI task.
//!
//! The headnode sends a task before the compute node can receive it. Every timestamp of the
//! sending side is headnode time — CNAPI's `Task id = <id>` record (sdc-cnapi, logged when it
//! creates the task) and the `started_at` of the job task that asked CNAPI for it — and the
//! receiving side's is the node's own time: the agent's task child logs `task_id` when it starts
//! the task (sdc-cn-agent `task_worker.js`, `Instantiating <module>`). So for each task,
//! `first receipt (CN clock) − last send (HN clock)` is the node's offset plus the delivery
//! delay: never below the true offset. The smallest such difference over all tasks of a node is
//! its estimate, an upper bound that is usually within tens of milliseconds when CNAPI's record
//! is there, and within about a second when only the job's task start is.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Facts;
use crate::parsers::service_log::CNAPI_TASK_ID;
use crate::parsers::time::parse_iso;

/// One compute node's estimated clock offset against the headnode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockOffset {
    /// Server uuid of the compute node.
    pub host: String,
    /// The node's clock minus the headnode's, in milliseconds (an upper bound; see the module
    /// documentation).
    pub offset_ms: i64,
    /// How many tasks were seen sent by the headnode and received by the node.
    pub pairs: usize,
}

impl ClockOffset {
    /// `+4.2 s`.
    pub fn seconds_label(&self) -> String {
        format!("{:+.1} s", self.offset_ms as f64 / 1000.0)
    }
}

/// Every node with at least one paired task, by server uuid.
pub fn estimate(facts: &Facts) -> Vec<ClockOffset> {
    let headnodes: BTreeSet<&str> = facts
        .coverage
        .manifests
        .iter()
        .flat_map(|(_, m)| m.hosts.iter())
        .filter(|h| h.role.eq_ignore_ascii_case("HN"))
        .map(|h| h.server_uuid.as_str())
        .collect();
    // Task id -> the latest headnode time it was sent at.
    let mut sent: BTreeMap<String, i64> = BTreeMap::new();
    let mut note_send = |task: &str, at: Option<&str>| {
        if let Some(ms) = at.and_then(parse_iso).map(|t| t.as_millisecond()) {
            let latest = sent.entry(task.to_string()).or_insert(ms);
            *latest = (*latest).max(ms);
        }
    };
    for job in &facts.jobs {
        for (task, entry) in job.value.dispatched_tasks() {
            note_send(&task, entry.started_at.as_deref());
        }
    }
    // (host, task id) -> the node's earliest time it logged the task.
    let mut received: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in &facts.records {
        let Some(task) = &r.record.task_id else {
            continue;
        };
        if r.record.msg.starts_with(CNAPI_TASK_ID) {
            note_send(task, r.record.time.as_deref());
            continue;
        }
        // Only the agent's task child (its logger is named after the task module) receives.
        let Some(host) = r.place.host.as_deref() else {
            continue;
        };
        if !r.record.name.contains("/tasks/") || headnodes.contains(host) {
            continue;
        }
        let Some(ms) = r
            .record
            .time
            .as_deref()
            .and_then(parse_iso)
            .map(|t| t.as_millisecond())
        else {
            continue;
        };
        let earliest = received
            .entry((host.to_string(), task.clone()))
            .or_insert(ms);
        *earliest = (*earliest).min(ms);
    }
    let mut by_host: BTreeMap<String, ClockOffset> = BTreeMap::new();
    for ((host, task), receipt) in received {
        let Some(send) = sent.get(&task) else {
            continue;
        };
        let bound = receipt - send;
        let offset = by_host.entry(host.clone()).or_insert(ClockOffset {
            host,
            offset_ms: bound,
            pairs: 0,
        });
        offset.offset_ms = offset.offset_ms.min(bound);
        offset.pairs += 1;
    }
    by_host.into_values().collect()
}

/// The offset of `host`, when one was estimated.
pub fn offset_of<'a>(offsets: &'a [ClockOffset], host: Option<&str>) -> Option<&'a ClockOffset> {
    let host = host?;
    offsets.iter().find(|o| o.host == host)
}
