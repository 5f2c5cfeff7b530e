//! Inflated BGZF blocks in file order, inflated on the calling thread or by a pool of workers.
//!
//! In parallel, one thread cuts the file into members and hands each to the workers; for every
//! member it queues a one-shot channel on which that member's result will arrive, so results
//! come back in file order however the workers finish. The queue is bounded, so memory stays at
//! a few members per worker. Dropping [`Blocks`] stops the threads.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::frames::{Frame, FrameReader};
use super::member::inflate;

/// One step through the file.
#[derive(Debug)]
pub(crate) enum Block {
    /// A member inflated and checked.
    Data {
        offset: u64,
        len: u64,
        data: Vec<u8>,
    },
    /// A member that failed its checks.
    Damaged {
        offset: u64,
        len: u64,
        why: String,
        /// The inflated size its trailer announces, when plausible.
        isize: Option<u32>,
    },
    /// Bytes that are not a member.
    Skipped { offset: u64, len: u64, why: String },
    /// No member found in `scanned` bytes from `offset`; nothing more is read.
    GaveUp { offset: u64, scanned: u64 },
    /// Reading the file failed.
    Failed(io::Error),
}

fn block_of(frame: io::Result<Frame>) -> Block {
    match frame {
        Ok(Frame::Member {
            offset,
            bytes,
            header_len,
        }) => inflated(offset, &bytes, header_len),
        Ok(Frame::Skipped { offset, len, why }) => Block::Skipped { offset, len, why },
        Ok(Frame::GaveUp { offset, scanned }) => Block::GaveUp { offset, scanned },
        Err(e) => Block::Failed(e),
    }
}

fn inflated(offset: u64, bytes: &[u8], header_len: usize) -> Block {
    let len = bytes.len() as u64;
    match inflate(bytes, header_len) {
        Ok(data) => Block::Data { offset, len, data },
        Err(damage) => Block::Damaged {
            offset,
            len,
            why: damage.why,
            isize: damage.isize,
        },
    }
}

/// The blocks of one file.
pub(crate) enum Blocks {
    Inline(FrameReader<Box<dyn Read + Send>>),
    Parallel(Pool),
}

impl Blocks {
    /// Blocks of `input`, inflated by `workers` threads (1: on the caller's thread).
    pub(crate) fn new(input: Box<dyn Read + Send>, workers: usize, scan_limit: u64) -> Blocks {
        let frames = FrameReader::new(input, scan_limit);
        if workers <= 1 {
            Blocks::Inline(frames)
        } else {
            Blocks::Parallel(Pool::start(frames, workers))
        }
    }
}

impl Iterator for Blocks {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        match self {
            Blocks::Inline(frames) => frames.next().map(block_of),
            Blocks::Parallel(pool) => pool.next(),
        }
    }
}

type Job = (u64, Vec<u8>, usize, SyncSender<Block>);

/// The reading thread and the inflating workers.
pub(crate) struct Pool {
    ordered: Option<Receiver<Receiver<Block>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    fn start(frames: FrameReader<Box<dyn Read + Send>>, workers: usize) -> Pool {
        let (ordered_tx, ordered_rx) = sync_channel::<Receiver<Block>>(workers * 4);
        let (work_tx, work_rx) = sync_channel::<Job>(workers * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let mut threads = Vec::with_capacity(workers + 1);
        for _ in 0..workers {
            let work_rx = Arc::clone(&work_rx);
            threads.push(std::thread::spawn(move || loop {
                let job = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((offset, bytes, header_len, done)) = job else {
                    return;
                };
                // The receiver is gone only when the reader was dropped: nothing to do then.
                let _ = done.send(inflated(offset, &bytes, header_len));
            }));
        }
        threads.push(std::thread::spawn(move || {
            for frame in frames {
                let (done, result) = sync_channel(1);
                if ordered_tx.send(result).is_err() {
                    return;
                }
                match frame {
                    Ok(Frame::Member {
                        offset,
                        bytes,
                        header_len,
                    }) => {
                        if work_tx.send((offset, bytes, header_len, done)).is_err() {
                            return;
                        }
                    }
                    other => {
                        let _ = done.send(block_of(other));
                    }
                }
            }
        }));
        Pool {
            ordered: Some(ordered_rx),
            threads,
        }
    }

    fn next(&mut self) -> Option<Block> {
        let result = self.ordered.as_ref()?.recv().ok()?;
        Some(
            result.recv().unwrap_or_else(|_| {
                Block::Failed(io::Error::other("a BGZF inflating thread stopped"))
            }),
        )
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the ordered queue stops the reading thread, which closes the work queue and
        // so stops the workers.
        self.ordered = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::member::tests::member_of;
    use super::*;

    fn summary(blocks: Blocks) -> Vec<String> {
        blocks
            .map(|b| match b {
                Block::Data { data, .. } => format!("data {}", data.len()),
                Block::Damaged { .. } => "damaged".to_string(),
                Block::Skipped { .. } => "skipped".to_string(),
                Block::GaveUp { .. } => "gave up".to_string(),
                Block::Failed(e) => format!("failed {e}"),
            })
            .collect()
    }

    #[test]
    fn inline_and_parallel_give_the_same_blocks_in_order() {
        let mut bytes = Vec::new();
        for i in 0..200usize {
            let mut member = member_of(&vec![b'a' + (i % 26) as u8; 100 + i * 37]);
            if i == 77 {
                let mid = member.len() / 2;
                member[mid] ^= 0xff;
            }
            bytes.extend_from_slice(&member);
        }
        let inline = summary(Blocks::new(
            Box::new(io::Cursor::new(bytes.clone())),
            1,
            1 << 20,
        ));
        assert_eq!(inline.len(), 200);
        assert_eq!(inline[77], "damaged");
        assert_eq!(inline[199], format!("data {}", 100 + 199 * 37));
        for workers in [2, 4] {
            let parallel = summary(Blocks::new(
                Box::new(io::Cursor::new(bytes.clone())),
                workers,
                1 << 20,
            ));
            assert_eq!(parallel, inline);
        }
        // Dropped half-way: the threads stop.
        let mut blocks = Blocks::new(Box::new(io::Cursor::new(bytes)), 3, 1 << 20);
        assert!(blocks.next().is_some());
        drop(blocks);
    }
}
