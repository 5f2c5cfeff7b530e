//! Per-task logs started outside the window that still name a VM in scope (a long image import
//! that began earlier, a retried create, a later destroy). Task logs are small and chosen as
//! whole units, so a cheap byte search of their first part is enough; the search is bounded in
//! files and bytes so a host with years of task logs stays fast.

use std::io::Read;

use memchr::memmem::Finder;

use crate::confine::Confinement;
use crate::context::Context;
use crate::plan::{Cost, Task};
use crate::rotated::TaskLogName;

/// Bytes searched at the start of one task log (the VM uuid is in its first records).
const HEAD_BYTES: u64 = 1024 * 1024;
/// Task logs searched at most, nearest the window first.
const MAX_FILES: usize = 500;
/// Bytes searched at most over all files.
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// File tasks for the task logs in `dir` outside the window whose first bytes name a VM in
/// scope; the whole files are collected.
pub fn task_logs_naming_vms(ctx: &Context, source: &str, dir: &str) -> Vec<Task> {
    let vms: Vec<&str> = ctx.vms.iter().map(|v| v.uuid.as_str()).collect();
    if vms.is_empty() {
        return Vec::new();
    }
    let confinement = Confinement::global(&ctx.host_root);
    let Ok(entries) = confinement.list_dir(dir) else {
        return Vec::new();
    };
    let mut outside: Vec<(jiff::SignedDuration, String)> = entries
        .into_iter()
        .filter(|(_, meta)| meta.is_file())
        .filter_map(|(name, _)| {
            let started = TaskLogName::parse(&name)?.started;
            if ctx.window.contains(started) {
                return None;
            }
            let distance = if started < ctx.window.since {
                ctx.window.since.duration_since(started)
            } else {
                started.duration_since(ctx.window.until)
            };
            Some((distance, name))
        })
        .collect();
    outside.sort();
    let finders: Vec<Finder> = vms.iter().map(|v| Finder::new(v.as_bytes())).collect();
    let mut budget = MAX_TOTAL_BYTES;
    let mut head = Vec::new();
    let mut tasks = Vec::new();
    for (_, name) in outside.into_iter().take(MAX_FILES) {
        if budget == 0 {
            break;
        }
        let path = super::join(dir, &name);
        let Ok((file, _)) = confinement.open_file(&path) else {
            continue;
        };
        head.clear();
        if file
            .take(HEAD_BYTES.min(budget))
            .read_to_end(&mut head)
            .is_err()
        {
            continue;
        }
        budget = budget.saturating_sub(head.len() as u64);
        if finders.iter().any(|f| f.find(&head).is_some()) {
            tasks.push(Task::file(source, Cost::Medium, path, "/"));
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    #[test]
    fn finds_task_logs_outside_the_window_that_name_the_vm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("var/log/cn-agent/logs");
        std::fs::create_dir_all(&logs).expect("mkdir");
        let vm = "0f5c1f3e-6a3c-4c59-9a65-4d8a3e7d2b11";
        let record =
            |id: &str| format!("{{\"msg\":\"creating\",\"req_id\":\"r\",\"vm_uuid\":\"{id}\"}}\n");
        // 2024-01-18T02:00:00Z (before the window), in the window, after it, another VM.
        std::fs::write(
            logs.join("1705543200000-1-image_ensure_present.log"),
            record(vm),
        )
        .expect("write");
        std::fs::write(logs.join("1705547700000-2-machine_create.log"), record(vm)).expect("write");
        std::fs::write(logs.join("1705560000000-3-machine_destroy.log"), record(vm))
            .expect("write");
        std::fs::write(
            logs.join("1705560000001-4-machine_create.log"),
            record("11111111-2222-3333-4444-555555555555"),
        )
        .expect("write");
        let mut ctx = Context::for_test(dir.path(), "2024-01-18T03:10:00Z", "2024-01-18T03:20:00Z");
        ctx.vms.push(crate::context::VmFacts::from_vm_object(
            vm,
            &serde_json::json!({}),
        ));
        let mut found: Vec<String> = task_logs_naming_vms(&ctx, "t", "/var/log/cn-agent/logs")
            .into_iter()
            .filter_map(|t| match t.action {
                Action::File { path, .. } => Some(path),
                _ => None,
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                "/var/log/cn-agent/logs/1705543200000-1-image_ensure_present.log",
                "/var/log/cn-agent/logs/1705560000000-3-machine_destroy.log",
            ]
        );
    }
}
