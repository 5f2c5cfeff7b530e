//! Turning the merged line stream into output: filters, context and rendering.

use std::collections::VecDeque;
use std::io::{self, Write};

use super::filter::Filters;
use crate::reader::{Line, LineKind};
use crate::record::Record;
use crate::render::{render_record, RenderOptions};

/// A record and its continuation lines, held back for `--context`.
struct Held {
    record: Vec<u8>,
    continuation: Vec<Vec<u8>>,
}

/// What happens to the continuation lines of the record being processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Print,
    Hold,
    Drop,
}

pub struct View<W: Write> {
    out: W,
    render: RenderOptions,
    filters: Filters,
    strict: bool,
    context: usize,
    buf: Vec<u8>,
    fate: Fate,
    before: VecDeque<Held>,
    after_left: usize,
    printed_any: bool,
    gap_since_print: bool,
}

impl<W: Write> View<W> {
    pub fn new(
        out: W,
        render: RenderOptions,
        filters: Filters,
        strict: bool,
        context: usize,
    ) -> Self {
        View {
            out,
            render,
            filters,
            strict,
            context,
            buf: Vec::with_capacity(64 * 1024),
            fate: Fate::Print,
            before: VecDeque::new(),
            after_left: 0,
            printed_any: false,
            gap_since_print: false,
        }
    }

    /// bunyan's own behaviour: non-record lines always pass (unless `--strict`).
    fn grouped(&self) -> bool {
        self.filters.extended() || self.context > 0
    }

    pub fn line(&mut self, line: &Line<'_>) -> io::Result<()> {
        match (line.kind, line.record) {
            (LineKind::Record, Some(record)) => self.record(&record),
            _ => self.other(line.bytes, line.kind),
        }
    }

    fn record(&mut self, record: &Record<'_>) -> io::Result<()> {
        let matched = self.filters.accepts(record);
        if self.context == 0 {
            self.fate = if matched { Fate::Print } else { Fate::Drop };
            if matched {
                self.print_record(record)?;
            }
            return Ok(());
        }
        if matched {
            // Like grep: a `--` line where records were left out between printed groups.
            if self.printed_any && self.gap_since_print {
                self.out.write_all(b"--\n")?;
            }
            self.flush_before()?;
            self.print_record(record)?;
            self.after_left = self.context;
            self.fate = Fate::Print;
            self.gap_since_print = false;
        } else if self.after_left > 0 {
            self.after_left -= 1;
            self.print_record(record)?;
            self.fate = Fate::Print;
        } else {
            if self.before.len() == self.context {
                self.before.pop_front();
                self.gap_since_print = true;
            }
            self.before.push_back(Held {
                record: record.line().to_vec(),
                continuation: Vec::new(),
            });
            self.fate = Fate::Hold;
        }
        Ok(())
    }

    fn other(&mut self, bytes: &[u8], kind: LineKind) -> io::Result<()> {
        if self.strict {
            return Ok(());
        }
        if !self.grouped() {
            return self.write_line(bytes);
        }
        if kind == LineKind::Orphan {
            return Ok(());
        }
        match self.fate {
            Fate::Print => self.write_line(bytes),
            Fate::Hold => {
                if let Some(held) = self.before.back_mut() {
                    held.continuation.push(bytes.to_vec());
                }
                Ok(())
            }
            Fate::Drop => Ok(()),
        }
    }

    fn flush_before(&mut self) -> io::Result<()> {
        while let Some(held) = self.before.pop_front() {
            if let Some(record) = Record::parse(&held.record) {
                self.print_record(&record)?;
            }
            for line in &held.continuation {
                self.write_line(line)?;
            }
        }
        Ok(())
    }

    fn print_record(&mut self, record: &Record<'_>) -> io::Result<()> {
        self.buf.clear();
        render_record(record, &self.render, &mut self.buf);
        self.printed_any = true;
        self.out.write_all(&self.buf)
    }

    fn write_line(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.out.write_all(b"\n")
    }

    /// Whether the last record was shown (its continuation lines are shown with it).
    pub fn showing(&self) -> bool {
        self.fate == Fate::Print
    }

    /// The output, for a view that renders into a buffer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Ends the output (with bunyan's closing ANSI reset when colors were on) and flushes it.
    pub fn finish(&mut self, ansi_reset: bool) -> io::Result<()> {
        if ansi_reset {
            self.out.write_all(b"\x1b[0m")?;
        }
        self.out.flush()
    }
}
