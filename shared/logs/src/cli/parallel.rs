//! The one-input fast path: one thread splits lines into batches, every core classifies,
//! filters and renders batches, and the calling thread writes them back in input order.
//!
//! Classifying a line (is it valid JSON with bunyan's core fields?) is the cost of a log view;
//! it needs nothing but the line itself, so it spreads over cores. What does cross lines is
//! small and is replayed in order while writing: whether a record has been seen yet (orphan vs
//! continuation lines), the fate of the last record (its continuation lines follow it), and the
//! `--until` stop. The output is byte-identical to the sequential path.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use jiff::Timestamp;

use super::filter::Filters;
use super::view::View;
use crate::lines::{LineInfo, LineReader};
use crate::reader::{Line, LineKind};
use crate::record::Record;
use crate::render::RenderOptions;

/// Bytes of input per batch: large enough to amortise the hand-offs, small enough that a few
/// batches in flight per core keep memory low.
pub const BATCH_BYTES: usize = 1 << 20;

/// How one run treats lines; shared by every worker.
pub struct Plan {
    pub render: RenderOptions,
    pub filters: Filters,
    pub strict: bool,
    /// The input was opened after a seek: its first lines follow a record.
    pub after_seek: bool,
    /// Reading ends at the first record later than this.
    pub stop_after: Option<Timestamp>,
    pub threads: usize,
    /// Input bytes per batch ([`BATCH_BYTES`]; tests make it tiny to cross batch boundaries).
    pub batch_bytes: usize,
}

/// Lines of the input, back to back, with their boundaries.
struct Batch {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each line.
    ends: Vec<usize>,
}

/// What a worker made of a batch.
struct Done {
    /// Lines before the batch's first record: their fate depends on earlier batches.
    leading: Vec<Vec<u8>>,
    /// Rendered output of the batch from its first record on.
    output: Vec<u8>,
    /// Whether the batch's last record was shown (`None` when it holds no record).
    last_shown: Option<bool>,
    /// A record past the stop time was reached: nothing after it is shown.
    stopped: bool,
}

/// Runs the view over one input; returns what the sequential pump would have returned.
pub fn run<R: BufRead + Send, W: Write>(
    lines: LineReader<R>,
    name: &str,
    cap: usize,
    plan: &Plan,
    out: &mut W,
    failures: &mut i32,
) -> io::Result<()> {
    let threads = plan.threads.max(1);
    let in_flight = threads * 2 + 1;
    let stop = AtomicBool::new(false);
    let (batch_tx, batch_rx) = mpsc::sync_channel::<(u64, Batch)>(in_flight);
    let batch_rx = Mutex::new(batch_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, Done)>();
    std::thread::scope(|scope| {
        let batch_bytes = plan.batch_bytes.max(1);
        let stop = &stop;
        let producer = scope.spawn(move || produce(lines, name, cap, batch_bytes, batch_tx, stop));
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let batch_rx = &batch_rx;
            // Workers run until the producer is gone. When the writer stops early they keep
            // taking (and dropping) batches: a producer blocked on the full channel could
            // otherwise never see `stop`, and joining it would hang.
            scope.spawn(move || loop {
                let next = batch_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((seq, batch))) = next else { break };
                if stop.load(Ordering::Relaxed) {
                    continue;
                }
                let _ = done_tx.send((seq, work(&batch, plan)));
            });
        }
        drop(done_tx);
        let written = write_in_order(done_rx, plan, out, stop);
        // Unblock the producer if the writer stopped early (error or `--until`).
        stop.store(true, Ordering::Relaxed);
        let read = producer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the line reader thread failed")));
        if let Err(error) = read {
            eprintln!("{}: {name}: {error}", super::PROG);
            *failures += 1;
        }
        written
    })
}

/// Splits the input into batches of whole lines.
fn produce<R: BufRead>(
    mut lines: LineReader<R>,
    name: &str,
    cap: usize,
    batch_bytes: usize,
    tx: mpsc::SyncSender<(u64, Batch)>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut seq = 0;
    loop {
        let mut batch = Batch {
            bytes: Vec::with_capacity(batch_bytes + 4096),
            ends: Vec::with_capacity(batch_bytes / 256 + 1),
        };
        let mut end_of_input = false;
        while batch.bytes.len() < batch_bytes {
            let Some(info) = lines.append_line(&mut batch.bytes)? else {
                end_of_input = true;
                break;
            };
            warn_if_cut(&info, name, cap);
            batch.ends.push(batch.bytes.len());
        }
        if !batch.ends.is_empty()
            && (stop.load(Ordering::Relaxed) || tx.send((seq, batch)).is_err())
        {
            return Ok(());
        }
        seq += 1;
        if end_of_input {
            return Ok(());
        }
    }
}

fn warn_if_cut(info: &LineInfo, name: &str, cap: usize) {
    if info.cut_bytes > 0 {
        eprintln!(
            "{}: {name}:{}: line longer than {cap} bytes cut ({} bytes dropped)",
            super::PROG,
            info.number,
            info.cut_bytes
        );
    }
}

/// Classifies, filters and renders one batch.
fn work(batch: &Batch, plan: &Plan) -> Done {
    let mut view = View::new(
        Vec::with_capacity(batch.bytes.len() / 4),
        plan.render.clone(),
        plan.filters.clone(),
        plan.strict,
        0,
    );
    let mut done = Done {
        leading: Vec::new(),
        output: Vec::new(),
        last_shown: None,
        stopped: false,
    };
    let mut start = 0;
    for &end in &batch.ends {
        let bytes = &batch.bytes[start..end];
        start = end;
        let record = Record::parse(bytes);
        let Some(record) = record else {
            if done.last_shown.is_none() {
                done.leading.push(bytes.to_vec());
            } else {
                // Writing into a Vec cannot fail.
                let _ = view.line(&line(bytes, LineKind::Continuation, None));
            }
            continue;
        };
        if let (Some(stop), Some(time)) = (plan.stop_after, record.time()) {
            if time > stop {
                done.stopped = true;
                break;
            }
        }
        let _ = view.line(&line(bytes, LineKind::Record, Some(record)));
        done.last_shown = Some(view.showing());
    }
    done.output = view.into_inner();
    done
}

fn line<'a>(bytes: &'a [u8], kind: LineKind, record: Option<Record<'a>>) -> Line<'a> {
    Line {
        bytes,
        kind,
        // Only the sequential reader's warnings use the position; they are printed while reading.
        info: LineInfo {
            number: 0,
            cut_bytes: 0,
            offset: 0,
        },
        record,
    }
}

/// Writes finished batches in input order, replaying the state that crosses batches.
fn write_in_order<W: Write>(
    done_rx: mpsc::Receiver<(u64, Done)>,
    plan: &Plan,
    out: &mut W,
    stop: &AtomicBool,
) -> io::Result<()> {
    let grouped = plan.filters.extended();
    let mut seen_record = plan.after_seek;
    // Fate of the last record: its continuation lines are shown with it.
    let mut showing = true;
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0;
    for (seq, done) in done_rx {
        pending.insert(seq, done);
        while let Some(done) = pending.remove(&next) {
            next += 1;
            for leading in &done.leading {
                let shown = !plan.strict && (!grouped || (seen_record && showing));
                if shown {
                    out.write_all(leading)?;
                    out.write_all(b"\n")?;
                }
            }
            out.write_all(&done.output)?;
            if let Some(shown) = done.last_shown {
                seen_record = true;
                showing = shown;
            }
            if done.stopped {
                stop.store(true, Ordering::Relaxed);
                return Ok(());
            }
        }
    }
    Ok(())
}
