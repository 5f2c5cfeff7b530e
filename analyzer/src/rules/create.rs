//! Failures while the CN creates the VM (`cnapi.provision_vm`, `cnapi.poll_task`,
//! `cnapi.wait_task`): qemu without memory (KVM), zoneinit/mdata failing (OS zones), and any other
//! vmadm / cn-agent error.

use super::{
    add_evidence, commands, error_origin, failure_evidence, finding, related_errors, Confidence,
    Evidence, Outcome, Rule,
};
use crate::facts::coverage::{Need, Seen};
use crate::facts::{Facts, Provision};
use crate::input::observations::Located;
use crate::parsers::vmlog::{QemuVerdict, VmLog};

/// A vm.log as observed: the VM it belongs to (when the path says) and what it holds.
type VmLogSeen = Located<(Option<String>, VmLog)>;

/// The VM.js provisioning timeout (reference §6.2).
pub const PROVISION_TIMEOUT: &str = "timed out waiting for /var/svc/provisioning to move";

const CREATE_TASKS: [&str; 3] = ["cnapi.provision_vm", "cnapi.poll_task", "cnapi.wait_task"];

/// Whether the provision failed while the CN was creating the VM.
pub fn failed_in_create(p: &Provision) -> bool {
    p.failed_task().is_some_and(|t| CREATE_TASKS.contains(&t))
}

fn is_provision_timeout(p: &Provision) -> bool {
    p.error_text().contains(PROVISION_TIMEOUT)
}

pub const KVM_OOM: Rule = Rule {
    key: "kvm-qemu-out-of-memory",
    title: "qemu could not get memory for a KVM instance",
    inputs: &["job (failed task, error)", "brand", "vm.log of the VM (CN)"],
    looks_for: "A kvm/bhyve provision failing in cnapi.poll_task/cnapi.wait_task with \"timed out waiting \
        for /var/svc/provisioning to move\", and the VM's vm.log ending in \"Failed to allocate memory\", \
        \"qemu_mlock: have only locked\", or nothing after the last \"=== OUTPUT (...) ===\" header.",
    generic: false,
    run: kvm_oom,
};

fn kvm_oom(facts: &Facts, p: &Provision) -> Outcome {
    let Some(vm) = p.vm_uuid.as_deref() else {
        return Outcome::Skipped("no vm uuid known".into());
    };
    if !failed_in_create(p) || !is_provision_timeout(p) {
        return Outcome::NotApplicable(
            "the provision did not fail with the VM.js provisioning timeout in the create step"
                .into(),
        );
    }
    let logs: Vec<_> = facts
        .nodes_for(p.server_uuid.as_deref())
        .flat_map(|n| n.vm_logs.iter())
        .filter(|l| {
            l.value.0.as_deref() == Some(vm)
                || (l.value.0.is_none()
                    && p.is_kvm() == Some(true)
                    && only_candidate(facts, p, true))
        })
        .collect();
    if p.is_kvm() == Some(false) {
        return Outcome::NotApplicable(format!(
            "brand is {}, not kvm",
            p.brand.as_deref().unwrap_or("?")
        ));
    }
    if p.is_kvm().is_none() && logs.is_empty() {
        return Outcome::Skipped("brand unknown and no vm.log in the input".into());
    }
    let mut f = finding(KVM_OOM.key, Confidence::Likely, p, String::new());
    f.evidence.extend(failure_evidence(p));
    // The newest start matters: prefer the live vm.log, then rotated/archived copies.
    let mut verdicts: Vec<(QemuVerdict, &VmLogSeen)> =
        logs.iter().map(|l| (l.value.1.verdict(), *l)).collect();
    verdicts.sort_by_key(|(_, l)| {
        let path = l.place.host_path.clone().unwrap_or_default();
        (!path.ends_with("/tmp/vm.log"), path)
    });
    let decisive = verdicts
        .iter()
        .find(|(v, _)| matches!(v, QemuVerdict::MemoryFailure(_)))
        .or_else(|| verdicts.first());
    match decisive {
        Some((QemuVerdict::MemoryFailure(line), log)) => {
            f.confidence = Confidence::Confirmed;
            f.summary = format!(
                "qemu could not get memory on the CN: the KVM VM {vm} never finished booting, so VM.js timed out waiting for /var/svc/provisioning."
            );
            f.evidence.push(Evidence::at(
                &log.place,
                Some(line.line),
                line.text.clone(),
                "qemu's memory failure (vm.log)",
            ));
        }
        Some((QemuVerdict::SilentAfterOutput(header), log)) => {
            f.confidence = Confidence::Confirmed;
            f.summary = format!(
                "qemu printed nothing after it started (the guide's out-of-memory sign): the KVM VM {vm} never booted, so VM.js timed out."
            );
            f.evidence.push(Evidence::at(
                &log.place,
                Some(header.line),
                header.text.clone(),
                "nothing after the last OUTPUT header (vm.log)",
            ));
        }
        Some((QemuVerdict::Other, log)) => {
            let tail: Vec<String> = log
                .value
                .1
                .tail
                .iter()
                .rev()
                .take(3)
                .rev()
                .map(|l| l.text.clone())
                .collect();
            return Outcome::NotApplicable(format!(
                "vm.log at {} shows qemu output after the last start and no memory failure (last lines: {})",
                log.place.label(),
                tail.join(" / ")
            ));
        }
        Some((QemuVerdict::NeverStarted, log)) => {
            f.summary = format!("KVM provision timed out; vm.log at {} has no OUTPUT section, so qemu may never have started.", log.place.label());
        }
        None => {
            let need = Need {
                sources: &["vm.log", "zones.archive"],
                about: Some(vm),
                host: p.server_uuid.as_deref(),
                kinds: &["vm.log"],
            };
            let seen = facts.coverage.seen(&need);
            f.summary = format!(
                "A KVM provision timing out in {} with the VM.js provisioning timeout is almost always qemu failing to get memory (guide); vm.log was not available to confirm it.",
                p.failed_task().unwrap_or("the create step")
            );
            f.missing
                .push(format!("vm.log of {vm} ({})", describe(&seen)));
        }
    }
    add_evidence(&mut f, error_origin(facts, p, 1));
    add_evidence(&mut f, related_errors(facts, p, 2));
    // A destroyed VM's logs are only in its archive (VM.js copies them there on delete).
    if super::destroyed::vm_destroyed(facts, p).is_some() {
        f.next_steps.push(commands::on_cn(
            p,
            &format!("ls /zones/archive/{vm}/vmlogs/"),
        ));
        f.next_steps.push(commands::on_cn(
            p,
            &format!("tail -n 20 /zones/archive/{vm}/vmlogs/vm.log"),
        ));
    } else {
        f.next_steps.push(commands::on_cn(
            p,
            &format!("tail -n 20 /zones/{vm}/root/tmp/vm.log"),
        ));
    }
    f.next_steps.push(format!(
        "sdc-cnapi /servers/{} | json -H memory_available_bytes memory_total_bytes reservation_ratio",
        commands::server(p)
    ));
    if let Some(req) = &p.request_id {
        f.next_steps.push(commands::grep_log(
            "cnapi",
            "smartdc-site-cnapi:default.log",
            req,
        ));
    }
    Outcome::Fired(Box::new(f))
}

/// Whether `p` is the only failed provision of its kind (KVM or OS zone) in the input, so a
/// loose file that names no VM (a renamed `vm.log`, a zoneinit log) can only be about it.
fn only_candidate(facts: &Facts, p: &Provision, kvm: bool) -> bool {
    let same_kind = |q: &Provision| {
        q.is_kvm().unwrap_or(false) == kvm && q.outcome != crate::facts::JobResult::Succeeded
    };
    same_kind(p) && facts.provisions.iter().filter(|q| same_kind(q)).count() == 1
}

/// Words for a coverage state.
pub fn describe(seen: &Seen) -> String {
    match seen {
        Seen::Present => "present".into(),
        Seen::CollectedAbsent(what) => format!("looked for, not there: {what}"),
        Seen::Failed(why) => format!("collection failed: {why}"),
        Seen::NotCollected => "not collected".into(),
        Seen::Unknown => "not in the input".into(),
    }
}

pub const ZONE_SETUP: Rule = Rule {
    key: "zone-setup-failed",
    title: "zoneinit or an mdata service failed inside an OS zone",
    inputs: &["job (failed task, error)", "brand", "zone svc logs (live or /zones/archive/<uuid>/svclogs)", "svcs -xv"],
    looks_for: "A non-KVM provision failing in cnapi.poll_task/cnapi.wait_task with the provisioning timeout \
        (or \"zone setup failed\"), and system-zoneinit:default.log / smartdc-mdata:fetch.log / \
        smartdc-mdata:execute.log showing a start method that exited non-zero, or svcs -xv listing them \
        in maintenance.",
    generic: false,
    run: zone_setup,
};

fn zone_setup(facts: &Facts, p: &Provision) -> Outcome {
    let Some(vm) = p.vm_uuid.as_deref() else {
        return Outcome::Skipped("no vm uuid known".into());
    };
    let text = p.error_text();
    if !failed_in_create(p)
        || !(is_provision_timeout(p)
            || text.contains("zone setup failed")
            || text.contains("timed out waiting for zone to reboot"))
    {
        return Outcome::NotApplicable(
            "the provision did not time out waiting for the zone to finish setup".into(),
        );
    }
    if p.is_kvm() == Some(true) {
        return Outcome::NotApplicable("brand is kvm: no zoneinit".into());
    }
    let nodes: Vec<_> = facts.nodes_for(p.server_uuid.as_deref()).collect();
    let logs: Vec<_> = nodes
        .iter()
        .flat_map(|n| n.svc_logs.iter())
        .filter(|l| match l.value.zone.as_deref() {
            Some(zone) => zone == vm,
            None => only_candidate(facts, p, false),
        })
        .collect();
    let broken: Vec<_> = nodes
        .iter()
        .flat_map(|n| n.svcs.iter())
        .filter(|s| match s.value.0.as_deref() {
            Some(zone) => zone == vm,
            None => only_candidate(facts, p, false),
        })
        .flat_map(|s| s.value.1.iter().map(move |b| (s, b)))
        .filter(|(_, b)| b.fmri.contains("zoneinit") || b.fmri.contains("mdata"))
        .collect();
    if p.is_kvm().is_none() && logs.is_empty() && broken.is_empty() {
        return Outcome::Skipped("brand unknown and no zone service logs in the input".into());
    }
    let mut f = finding(ZONE_SETUP.key, Confidence::Likely, p, String::new());
    f.evidence.extend(failure_evidence(p));
    let mut failed_services = Vec::new();
    for log in &logs {
        if let Some(exit) = log.value.log.any_failure() {
            failed_services.push(log.value.service.clone());
            f.evidence.push(Evidence::at(
                &log.place,
                Some(exit.line),
                exit.text.clone(),
                format!("{} start method failed", log.value.service),
            ));
            // The method's own output just before the failure usually says why (the rest of
            // the log is its `set -x` trace).
            let output: Vec<_> = log
                .value
                .log
                .tail
                .iter()
                .filter(|l| l.line < exit.line && !is_trace_line(&l.text))
                .collect();
            let errors = output.iter().filter(|l| {
                let lower = l.text.to_ascii_lowercase();
                lower.contains("error") || lower.contains("fatal") || lower.contains("failed")
            });
            let mut cited: Vec<_> = errors.take(2).copied().collect();
            if let Some(last) = output.last() {
                if !cited.iter().any(|c| c.line == last.line) {
                    cited.push(last);
                }
            }
            cited.sort_by_key(|l| l.line);
            for line in cited {
                f.evidence.push(Evidence::at(
                    &log.place,
                    Some(line.line),
                    line.text.clone(),
                    format!("{} output before the failure", log.value.service),
                ));
            }
        }
    }
    for (s, b) in &broken {
        failed_services.push(b.fmri.clone());
        let text = format!(
            "{} State: {} Reason: {}",
            b.fmri,
            b.state.as_deref().unwrap_or("?"),
            b.reason.as_deref().unwrap_or("?")
        );
        f.evidence.push(Evidence::at(
            &s.place,
            Some(b.line),
            text,
            "svcs -xv: service not running",
        ));
    }
    let markers: Vec<_> = nodes
        .iter()
        .flat_map(|n| n.markers.iter())
        .filter(|m| m.value.0 == vm)
        .collect();
    for m in &markers {
        f.evidence.push(Evidence::at(
            &m.place,
            None,
            m.place.host_path.clone().unwrap_or_default(),
            format!("provisioning marker: {}", m.value.1),
        ));
    }
    if !failed_services.is_empty() {
        failed_services.dedup();
        f.confidence = Confidence::Confirmed;
        f.summary = format!(
            "The zone's setup failed ({}), so /var/svc/provisioning was never moved and VM.js timed out.",
            failed_services.join(", ")
        );
    } else if !logs.is_empty() {
        return Outcome::NotApplicable(format!(
            "zone service logs present ({}) and none shows a failed start method",
            logs.iter()
                .map(|l| l.value.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        let need = Need {
            sources: &["zone.svclog", "zones.archive"],
            about: Some(vm),
            host: p.server_uuid.as_deref(),
            kinds: &["zone-svc-log"],
        };
        f.summary = "An OS zone timing out in the create step is most often zoneinit or an mdata service failing (guide); the zone's service logs were not available to confirm it.".into();
        f.missing.push(format!(
            "zone service logs of {vm} ({})",
            describe(&facts.coverage.seen(&need))
        ));
    }
    add_evidence(&mut f, error_origin(facts, p, 1));
    add_evidence(&mut f, related_errors(facts, p, 1));
    // A destroyed zone has no services left to ask; its logs are only in its archive.
    let destroyed = super::destroyed::vm_destroyed(facts, p).is_some();
    if destroyed {
        f.next_steps.push(commands::on_cn(
            p,
            &format!("ls /zones/archive/{vm}/svclogs/"),
        ));
    }
    for svc in [
        "system-zoneinit:default",
        "smartdc-mdata:fetch",
        "smartdc-mdata:execute",
    ] {
        let log = if destroyed {
            format!("/zones/archive/{vm}/svclogs/{svc}.log")
        } else {
            format!("/zones/{vm}/root/var/svc/log/{svc}.log")
        };
        f.next_steps
            .push(commands::on_cn(p, &format!("tail -n 30 {log}")));
    }
    if !destroyed {
        f.next_steps
            .push(commands::on_cn(p, &format!("svcs -z {vm} -xv")));
    }
    Outcome::Fired(Box::new(f))
}

/// A line of a method's shell trace (`+ cmd`, `[time] /path:NN: cmd`) or an SMF line, rather
/// than the method's own output.
fn is_trace_line(text: &str) -> bool {
    let t = text.trim_start();
    if t.is_empty() || t.starts_with('+') || crate::parsers::svclog::parse_bracket(t).is_some() {
        return true;
    }
    // zoneinit/mdata traces with PS4 = `[<time>] <file>:<line>: `.
    t.starts_with('[')
        && t.split_once("] ").is_some_and(|(_, rest)| {
            rest.split_once(": ").is_some_and(|(loc, _)| {
                loc.rsplit_once(':')
                    .is_some_and(|(_, n)| n.chars().all(|c| c.is_ascii_digit()))
            })
        })
}

pub const VMADM_FAILED: Rule = Rule {
    key: "vmadm-create-failed",
    title: "vmadm / cn-agent failed to create the VM",
    inputs: &["job (failed task, error)", "cn-agent / vmadm logs"],
    looks_for: "A provision failing in cnapi.provision_vm/cnapi.poll_task/cnapi.wait_task with an error that no \
        more specific rule explains (e.g. \"vmadm exited with code: 1: ...\", \"Machine <uuid> exists.\").",
    generic: true,
    run: vmadm_failed,
};

fn vmadm_failed(facts: &Facts, p: &Provision) -> Outcome {
    if !failed_in_create(p) {
        return Outcome::NotApplicable("the provision did not fail in the create step".into());
    }
    if p.error_text().trim() == "task timeout error" {
        return Outcome::NotApplicable("the task itself timed out (see task-timeout)".into());
    }
    let confidence = if is_provision_timeout(p) {
        Confidence::Likely
    } else {
        Confidence::Confirmed
    };
    let mut f = finding(
        VMADM_FAILED.key,
        confidence,
        p,
        format!(
            "The CN failed to create the VM in {}: {}",
            p.failed_task().unwrap_or("?"),
            p.error_text().lines().next().unwrap_or("")
        ),
    );
    f.evidence.extend(failure_evidence(p));
    add_evidence(&mut f, error_origin(facts, p, 3));
    add_evidence(&mut f, related_errors(facts, p, 5));
    add_evidence(&mut f, super::command_errors_about(facts, p, 3));
    if let Some(vm) = &p.vm_uuid {
        f.next_steps.push(commands::on_cn(
            p,
            &format!("grep -l {vm} /var/log/cn-agent/logs/*machine_create*.log"),
        ));
        f.next_steps.push(commands::on_cn(
            p,
            &format!("grep {vm} /var/log/vm/logs/*.log"),
        ));
    }
    f.next_steps.extend(commands::job_chain(p));
    Outcome::Fired(Box::new(f))
}

#[cfg(test)]
mod tests {
    use super::is_trace_line;

    #[test]
    fn trace_lines_are_told_from_output() {
        assert!(is_trace_line("+ /usr/sbin/mdata-get sdc:uuid"));
        assert!(is_trace_line(
            "[2024-05-11T08:59:29Z] /lib/svc/method/mdata-fetch:117: exit 95"
        ));
        assert!(is_trace_line(
            "[ May 11 08:59:30 Method \"start\" exited with status 95. ]"
        ));
        assert!(is_trace_line("++ echo 'zoneinit: (finish)'"));
        assert!(!is_trace_line("Metadata couldn't be retrieved."));
        assert!(!is_trace_line("zoneinit: (finish)"));
        assert!(!is_trace_line("04-mdata.sh: enabling metadata agent"));
    }
}
