//! SMF service logs (`/var/svc/log/<fmri>.log`), used here for the zone services the guide names
//! for OS zones: `system-zoneinit:default.log`, `smartdc-mdata:fetch.log`,
//! `smartdc-mdata:execute.log`. svc.startd writes bracketed lines around the method's own
//! output (zoneinit's is a `set -x` trace, mdata-fetch's an xtrace with PS4
//! `[<time>] <file>:<line>: `). The usual failure: zoneinit finished, and on the second boot
//! mdata:fetch could not read the metadata and exited 95:
//!
//! ```text
//! [ May 11 08:58:33 Executing start method ("/lib/svc/method/mdata-fetch"). ]
//! [2024-05-11T08:58:33.512Z] /lib/svc/method/mdata-fetch:105: /usr/sbin/mdata-get user-data
//! Metadata couldn't be retrieved.
//! [2024-05-11T08:59:33.515Z] /lib/svc/method/mdata-fetch:117: exit 95
//! [ May 11 08:59:34 Method "start" exited with status 95. ]
//! ```
//!
//! Newer illumos prefixes the year (`[ 2019 Apr 10 19:26:43 Enabled. ]`); both are read.

use std::collections::VecDeque;
use std::io::BufRead;

use super::vmlog::NumberedLine;
use super::{clip, MAX_EXCERPT};

const TAIL_LINES: usize = 15;

/// One `Method "<m>" exited with status <n>` (or `failed due to signal`) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodExit {
    pub line: u64,
    /// The bracketed time text as written (`Mar 25 21:42:40`).
    pub time: String,
    pub method: String,
    /// Exit status; `None` when the method died on a signal or timed out.
    pub status: Option<i32>,
    pub text: String,
}

impl MethodExit {
    pub fn failed(&self) -> bool {
        self.status != Some(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SvcLog {
    pub lines: u64,
    /// Method exits, in order (bounded to the last 50).
    pub exits: Vec<MethodExit>,
    /// `Executing start method` count.
    pub starts: u32,
    pub tail: Vec<NumberedLine>,
}

impl SvcLog {
    /// The last method exit that failed, if the service's last exit failed.
    pub fn last_failure(&self) -> Option<&MethodExit> {
        self.exits.last().filter(|e| e.failed())
    }

    /// Any failed method exit.
    pub fn any_failure(&self) -> Option<&MethodExit> {
        self.exits.iter().rev().find(|e| e.failed())
    }
}

/// Splits `[ <time> <message> ]` into time text and message.
pub fn parse_bracket(line: &str) -> Option<(String, String)> {
    let inner = line.trim().strip_prefix("[ ")?.strip_suffix(" ]")?;
    // `Mar 25 21:42:38 msg` or `2019 Apr 10 19:26:43 msg`; days may be padded (`Mar  5`).
    let inner_norm: Vec<&str> = inner.split_whitespace().collect();
    let (time_words, msg_start) = if inner_norm.first()?.chars().all(|c| c.is_ascii_digit()) {
        (4, 4)
    } else {
        (3, 3)
    };
    if inner_norm.len() <= msg_start || !inner_norm[time_words - 1].contains(':') {
        return None;
    }
    let time = inner_norm[..time_words].join(" ");
    // Message: everything after the time words in the original spacing.
    let mut rest = inner;
    for w in &inner_norm[..time_words] {
        rest = rest.trim_start();
        rest = rest.strip_prefix(w)?;
    }
    Some((time, rest.trim().to_string()))
}

fn parse_exit(msg: &str) -> Option<(String, Option<i32>)> {
    let rest = msg.strip_prefix("Method \"")?;
    let (method, rest) = rest.split_once('"')?;
    if let Some(status) = rest.trim().strip_prefix("exited with status ") {
        let status = status.trim_end_matches('.').trim().parse().ok();
        return Some((method.to_string(), status));
    }
    if rest.contains("failed due to signal") {
        return Some((method.to_string(), None));
    }
    None
}

/// Whether the head looks like an SMF log.
pub fn looks_like_svc_log(head: &str) -> bool {
    head.lines().take(20).any(|l| {
        parse_bracket(l).is_some_and(|(_, m)| {
            m.starts_with("Executing ")
                || m.starts_with("Method \"")
                || m == "Enabled."
                || m.starts_with("Stopping")
        })
    })
}

/// Streams an SMF log.
pub fn parse<R: BufRead>(mut reader: R) -> std::io::Result<SvcLog> {
    let mut log = SvcLog::default();
    let mut tail: VecDeque<NumberedLine> = VecDeque::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        log.lines += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some((time, msg)) = parse_bracket(text) {
            if msg.starts_with("Executing start method") {
                log.starts += 1;
            }
            if let Some((method, status)) = parse_exit(&msg) {
                if log.exits.len() == 50 {
                    log.exits.remove(0);
                }
                log.exits.push(MethodExit {
                    line: log.lines,
                    time,
                    method,
                    status,
                    text: clip(text, MAX_EXCERPT),
                });
            }
        }
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(NumberedLine {
            line: log.lines,
            text: clip(text, MAX_EXCERPT),
        });
    }
    log.tail = tail.into_iter().collect();
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdata_fetch_failure() {
        let text = "[ May 11 08:58:33 Enabled. ]\n[ May 11 08:58:33 Executing start method (\"/lib/svc/method/mdata-fetch\"). ]\n[2024-05-11T08:58:33.512Z] /lib/svc/method/mdata-fetch:105: /usr/sbin/mdata-get user-data\nMetadata couldn't be retrieved.\n[2024-05-11T08:59:33.515Z] /lib/svc/method/mdata-fetch:117: exit 95\n[ May 11 08:59:34 Method \"start\" exited with status 95. ]\n";
        assert!(looks_like_svc_log(text));
        let log = parse(text.as_bytes()).expect("parse");
        assert_eq!(log.starts, 1);
        let f = log.last_failure().expect("failure");
        assert_eq!(f.status, Some(95));
        assert_eq!(f.line, 6);
        assert_eq!(f.method, "start");
        assert_eq!(f.time, "May 11 08:59:34");
        assert!(log
            .tail
            .iter()
            .any(|l| l.line == 4 && l.text == "Metadata couldn't be retrieved."));
    }

    #[test]
    fn zoneinit_that_finished_is_no_failure() {
        let text = "[ May 11 08:58:10 Executing start method (\"/var/zoneinit/zoneinit\"). ]\n++ echo 'zoneinit: (finish)'\nzoneinit: (finish)\n[ May 11 08:58:20 Method \"start\" exited with status 0. ]\n";
        let log = parse(text.as_bytes()).expect("parse");
        assert!(log.any_failure().is_none());
    }

    #[test]
    fn year_prefix_and_success() {
        let text = "[ 2019 Apr 10 19:26:43 Executing start method (\"/usr/sbin/mdata-fetch\"). ]\n[ 2019 Apr 10 19:26:44 Method \"start\" exited with status 0. ]\n";
        let log = parse(text.as_bytes()).expect("parse");
        assert_eq!(log.exits.len(), 1);
        assert!(log.last_failure().is_none());
        assert_eq!(log.exits[0].time, "2019 Apr 10 19:26:44");
        let sig =
            parse("[ Mar  5 01:02:03 Method \"start\" failed due to signal KILL. ]\n".as_bytes())
                .expect("p");
        assert_eq!(sig.exits[0].status, None);
        assert!(sig.exits[0].failed());
    }
}
