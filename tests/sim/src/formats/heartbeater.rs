//! The legacy heartbeater agent's own text log (7.0-era CNs): one line per sample burst,
//! `[<ISO time>] ` then one character per event (`.` sample sent, `Z(r,n)` zone counts, `P` zpool
//! data, `M` memory/disk, `C` zone event, `c` /etc/zones change).

use crate::clock::{self, Ms};

pub fn line(t: Ms, events: &str) -> String {
    format!("[{}] {}", clock::iso_ms(t), events)
}

/// A quiet minute: a sample every 5 s, zpool and memory data once.
pub fn idle(t: Ms, running: u32, stopped: u32) -> String {
    line(t, &format!(".Z({running},{stopped})PMM..........."))
}
