//! The last step before a report is rendered: every text quoted from an input passes through the
//! collector's redaction rules. Our own bundles are redacted already; hand-gathered files and
//! `sdc-sbcreate` service bundles are not (the latter copy `/usbkey/config` and service configs
//! with their passwords), and a ticket is no place for them.

use std::collections::BTreeMap;

use super::model::Report;

/// Masks secrets in every quoted text of `report`; returns how many values were masked.
pub fn redact_report(report: &mut Report) -> u64 {
    let mut masked = 0;
    let mut clean = |text: &mut String| {
        let (out, n) = triton_redact::redact_text(text);
        if n > 0 {
            *text = out.into_owned();
            masked += n;
        }
    };
    for finding in report.findings.iter_mut() {
        clean(&mut finding.summary);
        for evidence in finding.evidence.iter_mut() {
            clean(&mut evidence.excerpt);
            clean(&mut evidence.note);
        }
        finding.missing.iter_mut().for_each(&mut clean);
    }
    for p in report.provisions.iter_mut() {
        if let Some(error) = p.error.as_mut() {
            clean(error);
        }
        clean(&mut p.diagnosis.summary);
        for entry in p.timeline.iter_mut() {
            clean(&mut entry.text);
        }
        for (_, line) in p.trace.iter_mut() {
            clean(line);
        }
    }
    for group in report.fleet.iter_mut() {
        clean(&mut group.error);
    }
    for input in report.inputs.iter_mut() {
        input.warnings.iter_mut().for_each(&mut clean);
    }
    report.coverage_warnings.iter_mut().for_each(&mut clean);
    masked
}

/// The header's sentence about secrets, when there is something to say: which inputs hold
/// secrets in clear, and how many values were masked in the report.
pub fn notice(report: &Report) -> Option<String> {
    let holding: BTreeMap<&str, u64> = report
        .inputs
        .iter()
        .filter(|i| i.secrets_held > 0)
        .map(|i| (i.name.as_str(), i.secrets_held))
        .collect();
    if holding.is_empty() && report.redacted == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if !holding.is_empty() {
        let list: Vec<String> = holding
            .iter()
            .map(|(name, n)| format!("{name} ({n})"))
            .collect();
        parts.push(format!(
            "unredacted secrets (passwords, keys) in {}: handle these inputs as confidential",
            list.join(", ")
        ));
    }
    if report.redacted > 0 {
        parts.push(format!(
            "{} secret value(s) quoted from the inputs are masked in this report",
            report.redacted
        ));
    }
    Some(format!("Secrets: {}.", parts.join("; ")))
}
