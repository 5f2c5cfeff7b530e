//! Evidence excerpts as an engineer reads them. A bunyan record is shown the way the `bunyan`
//! CLI prints it (`[time] LEVEL: name/pid on host: msg (req_id=…)`, its other fields beneath):
//! that is the form support engineers know, and a raw JSON line hides the message in its middle.
//! Anything else is shown as it is. The JSON report keeps the raw line either way.

use std::borrow::Cow;

use triton_logs::{render_record, Record, RenderOptions};

/// The excerpt as shown in the markdown and HTML reports.
pub fn readable(excerpt: &str) -> Cow<'_, str> {
    let line = excerpt.trim_end_matches(['\n', '\r']);
    if line.contains('\n') {
        return Cow::Borrowed(excerpt);
    }
    let Some(record) = Record::parse(line.as_bytes()) else {
        return Cow::Borrowed(excerpt);
    };
    let mut out = Vec::new();
    render_record(&record, &RenderOptions::default(), &mut out);
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text.trim_end().to_string()),
        Err(_) => Cow::Borrowed(excerpt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bunyan_record_reads_as_the_bunyan_cli_prints_it() {
        let line = r#"{"name":"vmadm","hostname":"B6WLUCN","pid":41037,"req_id":"473f4acd-a901-4001-809f-48156e923d28","action":"create","level":50,"msg":"timed out waiting for /var/svc/provisioning","time":"2024-05-11T09:04:06.863Z","v":0}"#;
        assert_eq!(
            readable(line),
            "[2024-05-11T09:04:06.863Z] ERROR: vmadm/41037 on B6WLUCN: timed out waiting for \
             /var/svc/provisioning (req_id=473f4acd-a901-4001-809f-48156e923d28, action=create)"
        );
    }

    #[test]
    fn other_text_is_left_as_it_is() {
        for text in [
            "Failed to allocate memory: Resource temporarily unavailable",
            "{\"not\":\"a record\"}",
            "line one\n{\"name\":\"x\"}",
        ] {
            assert_eq!(readable(text), text);
        }
    }
}
