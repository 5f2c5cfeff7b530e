//! Allocation and network failures: DAPI found no server (`dapi.get_allocation`, or 8.2+ `POST
//! /vms` answering 409), NAPI ran out of addresses.

use super::{
    add_evidence, commands, failure_evidence, finding, records_with, Confidence, Evidence, Outcome,
    Rule,
};

fn is_no_servers(text: &str, code: Option<&str>) -> bool {
    text.contains("No compute resources available")
        || text.contains("No allocatable servers found")
        || code == Some("NoAllocatableServersError")
        || code == Some("VolumeServerNoResourcesError")
}

pub const NO_SERVERS: Rule = Rule {
    key: "no-allocatable-servers",
    title: "DAPI found no server for the VM",
    inputs: &["job (failed task, error) or vmapi log (POST /vms audit record)", "cnapi log (DAPI snapshot)"],
    looks_for: "`dapi.get_allocation` failing, or (8.2+, no job) VMAPI answering `POST /vms` with 409, with \
        \"No compute resources available: <reason>\" / \"No allocatable servers found\"; the DAPI snapshot \
        in the cnapi log (same request id) gives each server's reason.",
    generic: false,
    run: |facts, p| {
        let code = p.failure.as_ref().and_then(|f| f.code.clone());
        if !is_no_servers(p.error_text(), code.as_deref()) {
            return Outcome::NotApplicable("no \"No compute resources available\" / NoAllocatableServersError error".into());
        }
        let reason = p
            .error_text()
            .split_once("No compute resources available:")
            .map(|(_, r)| r.trim().to_string())
            .unwrap_or_else(|| p.error_text().lines().next().unwrap_or("").to_string());
        let mut f = finding(
            NO_SERVERS.key,
            Confidence::Confirmed,
            p,
            format!("DAPI found no compute node able to take the VM: {reason}."),
        );
        f.evidence.extend(failure_evidence(p));
        let snapshots: Vec<_> = facts
            .dapi
            .iter()
            .filter(|d| {
                p.request_id.as_deref().is_some_and(|id| d.value.0.req_id.as_deref() == Some(id))
                    || p.vm_uuid.as_deref().is_some_and(|vm| d.value.1.vm_uuid.as_deref() == Some(vm) || d.value.0.raw.contains(vm))
            })
            .collect();
        for snap in snapshots.iter().take(2) {
            let s = &snap.value.1;
            let mut text = String::new();
            if let Some(step) = s.failing_step() {
                text.push_str(&format!("failing step: {}\n", step.step));
            }
            for (server, (step, why)) in &s.dropped {
                text.push_str(&format!("{server}: {step}: {why}\n"));
            }
            f.evidence.push(Evidence {
                place: snap.place.clone(),
                line: snap.line,
                line_in_bundle: None,
                original_offset_start: None,
                time: snap.value.0.time.clone(),
                excerpt: text.trim_end().to_string(),
                note: "DAPI snapshot decoded: why each server was left out".into(),
            });
        }
        if snapshots.is_empty() {
            f.missing.push("the DAPI snapshot record of this request in the cnapi log".into());
        }
        if let Some(id) = &p.request_id {
            f.next_steps.push(commands::grep_log("cnapi", "smartdc-site-cnapi:default.log", id));
        }
        f.next_steps.push("sdc-cnapi /servers | json -Ha uuid hostname status setup reserved".into());
        Outcome::Fired(Box::new(f))
    },
};

fn is_network_exhausted(text: &str, code: Option<&str>) -> bool {
    text.contains("no more free IPs")
        || text.contains("out of subnets")
        || text.contains("no more free MAC addresses")
        || (text.contains("All networks in pool") && text.contains("are full"))
        || code == Some("SubnetFull")
        || code == Some("SubnetsExhausted")
}

pub const NETWORK: Rule = Rule {
    key: "network-exhausted",
    title: "NAPI has no free address on the requested network",
    inputs: &["job (failed task, error) or vmapi log (POST /vms audit record)"],
    looks_for: "`napi.provision_nics` (or 8.2+ `POST /vms`) failing with NAPI's `SubnetFull` \"no more free \
        IPs\", `SubnetsExhausted` \"out of subnets\", or \"All networks in pool <uuid> are full\".",
    generic: false,
    run: |facts, p| {
        let code = p.failure.as_ref().and_then(|f| f.code.clone());
        if !is_network_exhausted(p.error_text(), code.as_deref()) {
            return Outcome::NotApplicable("no NAPI exhaustion error".into());
        }
        let networks = crate::parsers::find_uuids(p.error_text());
        let mut f = finding(
            NETWORK.key,
            Confidence::Confirmed,
            p,
            format!(
                "NAPI could not give the VM an address: {}",
                p.error_text().lines().next().unwrap_or("")
            ),
        );
        f.evidence.extend(failure_evidence(p));
        let needle = ["no more free IPs", "out of subnets", "are full", "no more free MAC addresses"]
            .into_iter()
            .find(|n| p.error_text().contains(n))
            .unwrap_or("SubnetFull");
        add_evidence(&mut f, records_with(facts, p, needle, 3));
        for n in networks.iter().take(3) {
            f.next_steps.push(format!("sdc-napi /networks/{n} | json -H name subnet provision_start_ip provision_end_ip"));
            f.next_steps.push(format!("sdc-napi /networks/{n}/ips | json -Ha ip belongs_to_uuid reserved | wc -l"));
        }
        if networks.is_empty() {
            f.next_steps.push("sdc-napi /networks | json -Ha uuid name subnet provision_start_ip provision_end_ip".into());
        }
        Outcome::Fired(Box::new(f))
    },
};
