//! The fleet view over many bundles: provisions grouped by diagnosis and by the first line of
//! their error with uuids taken out, so "3 of 8 provisions failed the same way on these CNs"
//! reads at a glance.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::ProvisionReport;

/// Longest normalized error text kept for a group.
const ERROR_MAX: usize = 160;

/// Provisions that share a diagnosis and an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetGroup {
    pub key: &'static str,
    /// First line of the error, uuids replaced by `<uuid>` ("" when there is no error).
    pub error: String,
    /// How many provisions are in the group.
    pub count: usize,
    /// How many provisions the report holds.
    pub of: usize,
    /// The compute nodes they ran on, sorted.
    pub servers: Vec<String>,
    /// `provisions[].id` of the members, in report order.
    pub provisions: Vec<String>,
}

/// An error line with uuids replaced, so the same failure on different VMs groups.
pub fn normalize_error(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out = String::with_capacity(first.len());
    let mut rest = first;
    while let Some(c) = rest.chars().next() {
        let candidate = rest.get(..36).filter(|u| crate::parsers::is_uuid(u));
        let after_hex = out.ends_with(|p: char| p.is_ascii_hexdigit());
        match candidate {
            Some(u) if !after_hex => {
                out.push_str("<uuid>");
                rest = &rest[u.len()..];
            }
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    crate::parsers::clip(&out, ERROR_MAX)
}

/// Groups provisions, largest group first (then by key and error).
pub fn group(provisions: &[ProvisionReport]) -> Vec<FleetGroup> {
    let mut groups: BTreeMap<(&'static str, String), Vec<&ProvisionReport>> = BTreeMap::new();
    for p in provisions {
        let error = normalize_error(p.error.as_deref().unwrap_or(""));
        groups.entry((p.diagnosis.key, error)).or_default().push(p);
    }
    let mut out: Vec<FleetGroup> = groups
        .into_iter()
        .map(|((key, error), members)| {
            let mut servers: Vec<String> = members
                .iter()
                .filter_map(|p| p.server_uuid.clone())
                .collect();
            servers.sort();
            servers.dedup();
            FleetGroup {
                key,
                error,
                count: members.len(),
                of: provisions.len(),
                servers,
                provisions: members.iter().map(|p| p.id.clone()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.key.cmp(b.key))
            .then(a.error.cmp(&b.error))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_differing_only_in_uuids_are_one() {
        let a = normalize_error("vmadm exited with code: 1: timed out waiting for /var/svc/provisioning to move for 6b45153b-0955-4454-b9da-4a1119193dbd\n...stderr");
        let b = normalize_error("vmadm exited with code: 1: timed out waiting for /var/svc/provisioning to move for FC15D9D6-0955-4454-b9da-4a1119193dbd");
        assert_eq!(a, b);
        assert_eq!(
            a,
            "vmadm exited with code: 1: timed out waiting for /var/svc/provisioning to move for <uuid>"
        );
    }
}
