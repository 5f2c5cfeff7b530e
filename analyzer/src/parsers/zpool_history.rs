//! `zpool history` (illumos `zpool_main.c`; guide): a header per pool, then one record per line.
//!
//! ```text
//! History for 'zones':
//! 2014-03-25.23:55:39 zfs receive zones/f9e4be48-9466-11e1-bc41-9f993f5dff36-partial
//! 2014-03-25.23:55:43 zfs rename zones/f9e4be48-9466-11e1-bc41-9f993f5dff36-partial zones/f9e4be48-9466-11e1-bc41-9f993f5dff36
//! ```
//!
//! Records are kept only when they name a uuid (image and VM datasets), bounded per file.

use std::io::BufRead;

use super::{clip, find_uuids, MAX_EXCERPT};

const MAX_RECORDS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRecord {
    pub line: u64,
    pub pool: String,
    /// RFC 3339 UTC.
    pub time: Option<String>,
    pub command: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZpoolHistory {
    pub pools: Vec<String>,
    pub records: Vec<PoolRecord>,
    pub lines: u64,
}

impl ZpoolHistory {
    /// Records naming `uuid`.
    pub fn mentioning<'a>(&'a self, uuid: &'a str) -> impl Iterator<Item = &'a PoolRecord> + 'a {
        self.records
            .iter()
            .filter(move |r| r.command.contains(uuid))
    }
}

pub fn looks_like_zpool_history(head: &str) -> bool {
    head.trim_start().starts_with("History for '")
}

pub fn parse<R: BufRead>(mut reader: R) -> std::io::Result<ZpoolHistory> {
    let mut out = ZpoolHistory::default();
    let mut pool = String::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        out.lines += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some(rest) = text.strip_prefix("History for '") {
            pool = rest
                .trim_end_matches("':")
                .trim_end_matches('\'')
                .to_string();
            out.pools.push(pool.clone());
            continue;
        }
        let Some((stamp, command)) = text.split_once(' ') else {
            continue;
        };
        let Some(time) = super::time::parse_zpool(stamp) else {
            continue;
        };
        if find_uuids(command).is_empty() || out.records.len() >= MAX_RECORDS {
            continue;
        }
        out.records.push(PoolRecord {
            line: out.lines,
            pool: pool.clone(),
            time: Some(super::time::format_ts(time)),
            command: clip(command, MAX_EXCERPT),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str = "History for 'zones':\n2014-03-25.23:55:39 zfs receive zones/f9e4be48-9466-11e1-bc41-9f993f5dff36-partial\n2014-03-25.23:55:43 zfs rename zones/f9e4be48-9466-11e1-bc41-9f993f5dff36-partial zones/f9e4be48-9466-11e1-bc41-9f993f5dff36\n2014-03-25.23:55:44 zfs clone -F -o quota=5g zones/f9e4be48-9466-11e1-bc41-9f993f5dff36@final zones/9185c581-2252-ef4a-8b18-f8787d77e61b\n2014-03-25.23:59:00 zpool scrub zones\n\n";

    #[test]
    fn guide_history() {
        assert!(looks_like_zpool_history(GUIDE));
        let h = parse(GUIDE.as_bytes()).expect("parse");
        assert_eq!(h.pools, vec!["zones"]);
        assert_eq!(h.records.len(), 3);
        assert_eq!(h.records[1].line, 3);
        assert_eq!(
            h.records[1].time.as_deref(),
            Some("2014-03-25T23:55:43.000Z")
        );
        assert_eq!(
            h.mentioning("f9e4be48-9466-11e1-bc41-9f993f5dff36").count(),
            3
        );
    }
}
