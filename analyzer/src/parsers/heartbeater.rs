//! The legacy heartbeater agent's own text log (`/var/svc/log/smartdc-agent-heartbeater:default.log`,
//! reference §4.1): one line per sample update, characters appended as things happen.
//!
//! ```text
//! [2013-12-27T19:36:54.790Z] .Z(27,3)PMMcccccccc
//! [2013-12-27T19:36:59.791Z] .cZ(27,4)PMMCC
//! ```
//!
//! The reader keeps zone-count changes, state-change bursts and whole-line messages; idle lines
//! only advance the time range.

use std::io::BufRead;

use super::{clip, MAX_EXCERPT};

/// Most kept lines per file.
const MAX_KEPT: usize = 2000;

/// One kept heartbeater line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    pub line: u64,
    pub time: String,
    /// `Z(running, not running[, hidden])`, when the line has it.
    pub zones: Option<(u32, u32, u32)>,
    /// Count of `C` (zone state change) events.
    pub zone_events: u32,
    /// Count of `c` (/etc/zones change) events.
    pub config_events: u32,
    /// Whole-line messages (`Connection closed`, `ERROR: ...`).
    pub message: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heartbeater {
    pub lines: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub kept: Vec<Beat>,
}

fn parse_zones(text: &str) -> Option<(u32, u32, u32)> {
    let start = text.find("Z(")? + 2;
    let end = start + text[start..].find(')')?;
    let nums: Vec<u32> = text[start..end]
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    match nums.as_slice() {
        [r, n] => Some((*r, *n, 0)),
        [r, n, d] => Some((*r, *n, *d)),
        _ => None,
    }
}

/// Parses one line, `None` when it is not a heartbeater line.
pub fn parse_line(line: &str, line_no: u64) -> Option<Beat> {
    let rest = line.strip_prefix('[')?;
    let (time, body) = rest.split_once("] ")?;
    super::time::parse_iso(time)?;
    let is_sample = body.chars().all(|c| {
        matches!(
            c,
            '.' | 'Z' | 'P' | 'M' | 'D' | 'C' | 'c' | '(' | ')' | ',' | ' '
        ) || c.is_ascii_digit()
    });
    let (zones, zone_events, config_events, message) = if is_sample {
        let without_z = match (body.find("Z("), body.find(')')) {
            (Some(s), Some(e)) if e > s => format!("{}{}", &body[..s], &body[e + 1..]),
            _ => body.to_string(),
        };
        (
            parse_zones(body),
            without_z.matches('C').count() as u32,
            without_z.matches('c').count() as u32,
            None,
        )
    } else {
        (None, 0, 0, Some(body.to_string()))
    };
    Some(Beat {
        line: line_no,
        time: time.to_string(),
        zones,
        zone_events,
        config_events,
        message,
        text: clip(line, MAX_EXCERPT),
    })
}

/// Whether the first lines look like a heartbeater log.
pub fn looks_like_heartbeater(head: &str) -> bool {
    let mut lines = head
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .peekable();
    lines.peek().is_some()
        && lines.all(|l| parse_line(l, 0).is_some_and(|b| b.zones.is_some() || b.message.is_some()))
        && head.contains("Z(")
}

/// Streams a heartbeater log.
pub fn parse<R: BufRead>(mut reader: R) -> std::io::Result<Heartbeater> {
    let mut out = Heartbeater::default();
    let mut last_zones = None;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        out.lines += 1;
        let line = String::from_utf8_lossy(&buf);
        let Some(beat) = parse_line(line.trim_end_matches(['\n', '\r']), out.lines) else {
            continue;
        };
        if out.first_time.is_none() {
            out.first_time = Some(beat.time.clone());
        }
        out.last_time = Some(beat.time.clone());
        let changed = beat.zones.is_some() && beat.zones != last_zones;
        if beat.zones.is_some() {
            last_zones = beat.zones;
        }
        let interesting =
            changed || beat.zone_events > 0 || beat.config_events > 0 || beat.message.is_some();
        if interesting && out.kept.len() < MAX_KEPT {
            out.kept.push(beat);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str = "[2013-12-27T19:34:54.715Z] .Z(27,3)PMM...........\n[2013-12-27T19:35:54.716Z] .Z(27,3)PMM...........\n[2013-12-27T19:36:54.790Z] .Z(27,3)PMMcccccccc\n[2013-12-27T19:36:59.791Z] .cZ(27,4)PMMCC\n[2013-12-27T19:37:04.802Z] .Z(28,3)cPMM\n";

    #[test]
    fn keeps_changes_only() {
        assert!(looks_like_heartbeater(GUIDE));
        let hb = parse(GUIDE.as_bytes()).expect("parse");
        assert_eq!(hb.lines, 5);
        assert_eq!(hb.first_time.as_deref(), Some("2013-12-27T19:34:54.715Z"));
        // first line (new zone count), line 3 (c events), line 4, line 5
        let kept: Vec<u64> = hb.kept.iter().map(|b| b.line).collect();
        assert_eq!(kept, vec![1, 3, 4, 5]);
        assert_eq!(hb.kept[2].zones, Some((27, 4, 0)));
        assert_eq!(hb.kept[2].zone_events, 2);
        assert_eq!(hb.kept[1].config_events, 8);
    }

    #[test]
    fn messages_and_hidden_zones() {
        let b = parse_line("[2013-12-27T19:34:54.715Z] Connection closed", 3).expect("line");
        assert_eq!(b.message.as_deref(), Some("Connection closed"));
        let b = parse_line("[2013-12-27T19:34:54.715Z] .Z(27,3,1)PMD", 4).expect("line");
        assert_eq!(b.zones, Some((27, 3, 1)));
        assert!(parse_line("{\"level\":30}", 1).is_none());
    }
}
