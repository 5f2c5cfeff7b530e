//! `zfs list -t all` (reference §5; guide):
//!
//! ```text
//! NAME                                                USED  AVAIL  REFER  MOUNTPOINT
//! zones/279936e6-5eae-4a87-8a37-dc3e13c36ff9          1.45G  2.06T  1.81G  /zones/279936e6-5eae-4a87-8a37-dc3e13c36ff9
//! zones/279936e6-5eae-4a87-8a37-dc3e13c36ff9@final        0      -  1.81G  -
//! ```
//!
//! Also reads headerless lines (the guide's `zfs list -t all | grep <uuid>`).

use std::io::BufRead;

const MAX_DATASETS: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub line: u64,
    pub name: String,
    pub used: String,
    pub avail: String,
    pub refer: String,
    pub mountpoint: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZfsList {
    pub datasets: Vec<Dataset>,
    pub had_header: bool,
}

impl ZfsList {
    pub fn find(&self, name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.name == name)
    }
}

pub fn looks_like_zfs_list(head: &str) -> bool {
    let first = head.lines().next().unwrap_or("");
    let cols: Vec<&str> = first.split_whitespace().collect();
    cols.len() >= 5 && cols[0] == "NAME" && cols[1] == "USED" && cols[2] == "AVAIL"
}

pub fn parse<R: BufRead>(mut reader: R) -> std::io::Result<ZfsList> {
    let mut out = ZfsList::default();
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        let text = String::from_utf8_lossy(&buf);
        let cols: Vec<&str> = text.split_whitespace().collect();
        if cols.first() == Some(&"NAME") {
            out.had_header = true;
            continue;
        }
        if cols.len() < 5
            || !cols[0].contains('/') && !cols[0].chars().all(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        if out.datasets.len() < MAX_DATASETS {
            out.datasets.push(Dataset {
                line: line_no,
                name: cols[0].to_string(),
                used: cols[1].to_string(),
                avail: cols[2].to_string(),
                refer: cols[3].to_string(),
                mountpoint: cols[4..].join(" "),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_listing() {
        let text = "NAME USED AVAIL REFER MOUNTPOINT\nzones/279936e6-5eae-4a87-8a37-dc3e13c36ff9                                             1.45G  2.06T  1.81G  /zones/279936e6-5eae-4a87-8a37-dc3e13c36ff9\nzones/279936e6-5eae-4a87-8a37-dc3e13c36ff9@final                                           0      -  1.81G  -\nzones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial 10M 2.06T 10M /zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial\n";
        assert!(looks_like_zfs_list(text));
        let l = parse(text.as_bytes()).expect("parse");
        assert_eq!(l.datasets.len(), 3);
        assert_eq!(
            l.find("zones/279936e6-5eae-4a87-8a37-dc3e13c36ff9@final")
                .map(|d| d.line),
            Some(3)
        );
        assert!(l
            .find("zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial")
            .is_some());
        assert!(l.had_header);
    }
}
