//! `svcs -xv` (illumos; reference §5, format approximate): one block per service that is not
//! running as it should.
//!
//! ```text
//! svc:/system/zoneinit:default (zone init)
//!  State: maintenance since Tue Mar 25 21:42:40 2014
//! Reason: Start method exited with $SMF_EXIT_ERR_FATAL.
//!    See: http://illumos.org/msg/SMF-8000-KS
//!    See: /var/svc/log/system-zoneinit:default.log
//! Impact: This service is not running.
//! ```

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenService {
    pub line: u64,
    pub fmri: String,
    pub description: Option<String>,
    pub state: Option<String>,
    pub since: Option<String>,
    pub reason: Option<String>,
    pub log: Option<String>,
}

pub fn looks_like_svcs_xv(head: &str) -> bool {
    head.lines().any(|l| l.starts_with("svc:/")) && head.contains("State:")
}

pub fn parse(text: &str) -> Vec<BrokenService> {
    let mut out: Vec<BrokenService> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.starts_with("svc:/") {
            let (fmri, description) = match line.split_once(" (") {
                Some((f, d)) => (f.to_string(), Some(d.trim_end_matches(')').to_string())),
                None => (line.to_string(), None),
            };
            out.push(BrokenService {
                line: idx as u64 + 1,
                fmri,
                description,
                state: None,
                since: None,
                reason: None,
                log: None,
            });
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("State:") {
            let rest = rest.trim();
            match rest.split_once(" since ") {
                Some((state, since)) => {
                    current.state = Some(state.to_string());
                    current.since = Some(since.to_string());
                }
                None => current.state = Some(rest.to_string()),
            }
        } else if let Some(rest) = trimmed.strip_prefix("Reason:") {
            current.reason = Some(rest.trim().to_string());
        } else if let Some(rest) = trimmed.strip_prefix("See:") {
            let rest = rest.trim();
            if rest.starts_with('/') {
                current.log = Some(rest.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoneinit_in_maintenance() {
        let text = "svc:/system/zoneinit:default (zone init)\n State: maintenance since Tue Mar 25 21:42:40 2014\nReason: Start method exited with $SMF_EXIT_ERR_FATAL.\n   See: http://illumos.org/msg/SMF-8000-KS\n   See: /var/svc/log/system-zoneinit:default.log\nImpact: This service is not running.\n";
        assert!(looks_like_svcs_xv(text));
        let s = parse(text);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].fmri, "svc:/system/zoneinit:default");
        assert_eq!(s[0].state.as_deref(), Some("maintenance"));
        assert_eq!(
            s[0].log.as_deref(),
            Some("/var/svc/log/system-zoneinit:default.log")
        );
        assert!(s[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("SMF_EXIT_ERR_FATAL"));
    }
}
