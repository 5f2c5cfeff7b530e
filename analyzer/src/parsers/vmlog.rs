//! qemu's `/zones/<uuid>/root/tmp/vm.log` (smartos-live `qemu-exec.c`; guide). Each start writes
//! `== Zone privileges ==`, `=== ARGV ===`, then an OUTPUT header and qemu's own output:
//!
//! ```text
//! === OUTPUT (2014-01-29T06:33:54Z) ===
//! Failed to allocate memory: Resource temporarily unavailable
//! ```
//!
//! Only the last start matters, so the reader keeps the last OUTPUT header and the lines after it
//! (bounded), plus every memory-failure line of that start. The ARGV list names the VM: VM.js
//! starts qemu with `-uuid <vm uuid>` (smartos-live `VM.js`), one argument per line, so a vm.log
//! copied under another name still says whose it is.

use std::collections::VecDeque;
use std::io::BufRead;

use super::{clip, MAX_EXCERPT};

/// Lines kept after the last OUTPUT header.
const TAIL_LINES: usize = 20;

/// A line with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedLine {
    pub line: u64,
    pub text: String,
}

/// What the last qemu start printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmLog {
    pub lines: u64,
    /// The VM, from the `-uuid` argument of the last ARGV list.
    pub vm_uuid: Option<String>,
    /// Number of OUTPUT sections (qemu starts) in the file.
    pub starts: u32,
    /// The last `=== OUTPUT (<time>) ===` header.
    pub last_output: Option<NumberedLine>,
    /// Time inside the last header.
    pub last_output_time: Option<String>,
    /// Non-empty lines after the last header (count).
    pub lines_after_output: u64,
    /// Memory-failure lines of the last start (`Failed to allocate memory`, `qemu_mlock: have only
    /// locked`), first few kept.
    pub memory_failures: Vec<NumberedLine>,
    /// The last memory-failure line of the last start (the one the guide says to look at).
    pub last_memory_failure: Option<NumberedLine>,
    /// `FATAL: execvp() failed.`
    pub exec_failed: Option<NumberedLine>,
    /// Last lines of the file.
    pub tail: Vec<NumberedLine>,
}

/// How the last start ended, as the guide reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QemuVerdict {
    /// A memory failure line.
    MemoryFailure(NumberedLine),
    /// Nothing after the OUTPUT header.
    SilentAfterOutput(NumberedLine),
    /// qemu printed something else.
    Other,
    /// No OUTPUT section at all.
    NeverStarted,
}

impl VmLog {
    pub fn verdict(&self) -> QemuVerdict {
        if let Some(last) = self
            .last_memory_failure
            .as_ref()
            .or(self.memory_failures.first())
        {
            return QemuVerdict::MemoryFailure(last.clone());
        }
        match &self.last_output {
            Some(header) if self.lines_after_output == 0 => {
                QemuVerdict::SilentAfterOutput(header.clone())
            }
            Some(_) => QemuVerdict::Other,
            None => QemuVerdict::NeverStarted,
        }
    }
}

/// Whether a line is one of the guide's qemu memory failures.
pub fn is_memory_failure(line: &str) -> bool {
    line.contains("Failed to allocate memory") || line.contains("qemu_mlock: have only locked")
}

/// Whether the text has the qemu-exec section markers.
pub fn looks_like_vm_log(head: &str) -> bool {
    head.contains("=== OUTPUT (")
        || (head.contains("== Zone privileges ==") && head.contains("=== ARGV ==="))
}

/// Streams a vm.log.
pub fn parse<R: BufRead>(mut reader: R) -> std::io::Result<VmLog> {
    let mut log = VmLog::default();
    let mut tail: VecDeque<NumberedLine> = VecDeque::new();
    let mut buf = Vec::new();
    let mut in_argv = false;
    let mut uuid_flag = false;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        log.lines += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        let numbered = NumberedLine {
            line: log.lines,
            text: clip(text, MAX_EXCERPT),
        };
        if in_argv && uuid_flag && super::is_uuid(text.trim()) {
            log.vm_uuid = Some(text.trim().to_ascii_lowercase());
        }
        uuid_flag = in_argv && text.trim() == "-uuid";
        if let Some(rest) = text.strip_prefix("=== OUTPUT (") {
            in_argv = false;
            log.starts += 1;
            log.last_output_time = rest.split_once(')').map(|(t, _)| t.to_string());
            log.last_output = Some(numbered.clone());
            log.lines_after_output = 0;
            log.memory_failures.clear();
            log.last_memory_failure = None;
            log.exec_failed = None;
        } else if text.starts_with("== Zone privileges ==") || text.starts_with("=== ARGV ===") {
            in_argv = text.starts_with("=== ARGV ===");
            // The preamble of a new start: what follows is not qemu output.
            log.last_output = None;
            log.lines_after_output = 0;
        } else if log.last_output.is_some() && !text.trim().is_empty() {
            log.lines_after_output += 1;
            if is_memory_failure(text) {
                if log.memory_failures.len() < 5 {
                    log.memory_failures.push(numbered.clone());
                }
                log.last_memory_failure = Some(numbered.clone());
            }
            if text.starts_with("FATAL: execvp() failed") {
                log.exec_failed = Some(numbered.clone());
            }
        }
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(numbered);
    }
    log.tail = tail.into_iter().collect();
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREAMBLE: &str = "== Zone privileges ==\nfile_link_any\n=== ARGV ===\n/smartdc/bin/qemu-system-x86_64\n-m\n4096\n";

    #[test]
    fn memory_failure_after_output() {
        let text = format!("{PREAMBLE}=== OUTPUT (2014-01-29T06:33:54Z) ===\nFailed to allocate memory: Resource temporarily unavailable\n");
        let log = parse(text.as_bytes()).expect("parse");
        assert_eq!(log.starts, 1);
        assert_eq!(
            log.last_output_time.as_deref(),
            Some("2014-01-29T06:33:54Z")
        );
        match log.verdict() {
            QemuVerdict::MemoryFailure(l) => assert_eq!(l.line, 8),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn mlock_and_silent_output() {
        let text = format!("{PREAMBLE}=== OUTPUT (2014-01-29T06:33:54Z) ===\nqemu_mlock: have only locked 67645685760 of 6871947636 bytes; still trying...\nqemu_mlock: have only locked 67645685760 of 6871947636 bytes; still trying...\n");
        match parse(text.as_bytes()).expect("p").verdict() {
            QemuVerdict::MemoryFailure(l) => assert_eq!(l.line, 9, "the last mlock line"),
            other => panic!("unexpected {other:?}"),
        }
        let silent = format!("{PREAMBLE}=== OUTPUT (2014-01-29T06:33:54Z) ===\n");
        match parse(silent.as_bytes()).expect("p").verdict() {
            QemuVerdict::SilentAfterOutput(h) => assert_eq!(h.line, 7),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_argv_names_the_vm() {
        let text = "== Zone privileges ==\nfile_link_any\n=== ARGV ===\n/smartdc/bin/qemu-system-x86_64\n-m\n4096\n-name\n6b45153b-0955-4454-b9da-4a1119193dbd\n-uuid\n6B45153B-0955-4454-b9da-4a1119193dbd\n=== OUTPUT (2014-01-29T06:33:54Z) ===\n-uuid\n0c2b0000-0000-4000-8000-000000000000\n";
        let log = parse(text.as_bytes()).expect("parse");
        assert_eq!(
            log.vm_uuid.as_deref(),
            Some("6b45153b-0955-4454-b9da-4a1119193dbd"),
            "from ARGV only, not from qemu's output"
        );
        let guide = format!("{PREAMBLE}=== OUTPUT (2014-01-29T06:33:54Z) ===\n");
        assert_eq!(parse(guide.as_bytes()).expect("parse").vm_uuid, None);
    }

    #[test]
    fn only_last_start_counts() {
        let text = format!("{PREAMBLE}=== OUTPUT (2014-01-29T06:33:54Z) ===\nFailed to allocate memory: Resource temporarily unavailable\n{PREAMBLE}=== OUTPUT (2014-01-29T07:00:00Z) ===\nVNC server running on 127.0.0.1:5900\n");
        let log = parse(text.as_bytes()).expect("p");
        assert_eq!(log.starts, 2);
        assert_eq!(log.verdict(), QemuVerdict::Other);
        assert!(looks_like_vm_log(&text));
    }
}
