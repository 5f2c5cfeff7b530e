//! `zpool history` records: `<YYYY-MM-DD.HH:MM:SS> <command line>`.

use crate::clock::{self, Ms};

pub fn record(t: Ms, command: &str) -> String {
    format!("{} {}", clock::zpool_stamp(t), command)
}
