//! Reading the tar inside a BGZF bundle past damaged members.
//!
//! The tar is read as usual until the stream reports a gap (see `bgzf/stream.rs`). The entry
//! being read then is reported as lost, never delivered as if complete; the next tar header
//! after the damage is found (`bgzf/resync.rs`), and reading starts again there with a fresh
//! tar parser. The summary's warnings name the file, the compressed offset of the damage, and
//! what was skipped. Plain gzip has no such resume points: it still stops at the damage.

use std::io;
use std::path::Path;

use super::bgzf::resync::{resume, Hints, Resumed, Resync};
use super::bgzf::{Gap, SharedStream, HEADER_SEARCH_BYTES};
use super::deliver::Delivery;
use super::position::Position;
use super::source::Flow;
use super::tar_stream::{stream_tar, StreamError};
use crate::error::BundleError;
use crate::format::MANIFEST_FILE;

/// The entry handed to the delivery last, and where its data lies in the tar stream.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    data_at: u64,
    size: u64,
    delivered: bool,
}

impl Seen {
    /// Where the header after this entry starts.
    fn next_header(&self) -> u64 {
        self.data_at + self.size.div_ceil(512) * 512
    }
}

/// Streams every entry of the BGZF tar `stream` to `delivery`, resuming after damage.
pub(crate) fn stream_bgzf_tar(
    bundle: &Path,
    top: Option<&str>,
    stream: &SharedStream,
    position: &Position,
    delivery: &mut Delivery<'_, '_>,
) -> Result<(), BundleError> {
    let mut damaged = false;
    loop {
        let mut seen: Option<Seen> = None;
        let result = stream_tar(stream.clone(), position, &mut |raw| {
            seen = Some(Seen {
                name: String::from_utf8_lossy(raw.name).into_owned(),
                data_at: stream.tar_offset(),
                size: raw.size,
                delivered: false,
            });
            delivery.offer(raw)?;
            if let Some(entry) = seen.as_mut() {
                entry.delivered = true;
            }
            Ok(Flow::Continue)
        });
        // Damage after the tar's end-of-archive block is only a damaged trailer.
        let ended = matches!(&result, Ok(end) if end.saw_end_marker);
        if ended || !stream.has_gap() {
            return finish(bundle, result, damaged, delivery);
        }
        damaged = true;
        let lost_entry = seen.as_ref().filter(|s| !s.delivered);
        let mut gaps = Vec::new();
        let hints = Hints {
            next_header: seen.as_ref().map(Seen::next_header),
            top,
            budget: HEADER_SEARCH_BYTES,
        };
        let outcome = resume(stream, &mut gaps, &hints);
        if let Some(entry) = lost_entry {
            let read = gaps[0]
                .tar_offset
                .saturating_sub(entry.data_at)
                .min(entry.size);
            delivery.skip_named(
                &entry.name,
                &format!(
                    "lost: cut after {read} of its {} bytes by {}",
                    entry.size,
                    gaps[0].describe()
                ),
            );
        }
        match outcome {
            Resync::Resumed(resumed) => {
                delivery.warn(resumed_warning(bundle, &gaps, lost_entry, &resumed));
                position.set_uncompressed(resumed.tar_offset);
            }
            Resync::NotFound {
                scanned,
                end_of_data,
            } => {
                let rest = if end_of_data {
                    "no readable entry follows it".to_string()
                } else {
                    format!(
                        "no tar header found in the {scanned} bytes after it; the rest is not read"
                    )
                };
                let summary = format!("{}; {rest}", describe_gaps(&gaps));
                if delivery.is_triton_bundle() && delivery.saw_manifest {
                    // Only the end of the archive was lost: everything was delivered.
                    delivery.warn(format!("{}: {summary}", bundle.display()));
                    return Ok(());
                }
                return Err(delivery.corrupt(
                    lost_entry.map(|e| e.name.as_str()),
                    io::Error::new(io::ErrorKind::InvalidData, summary),
                ));
            }
            Resync::Failed(e) => return Err(delivery.corrupt(None, e)),
        }
    }
}

/// What ends the reading when no damage is pending.
fn finish(
    bundle: &Path,
    result: Result<super::tar_stream::TarEnd, StreamError>,
    damaged: bool,
    delivery: &mut Delivery<'_, '_>,
) -> Result<(), BundleError> {
    let end = match result {
        Ok(end) => end,
        Err(StreamError::Sink(e)) => return Err(e),
        Err(StreamError::Io(e)) => return Err(delivery.corrupt(None, e)),
    };
    if let Some(problem) = end.trailer_problem {
        delivery.warn(format!("{}: {problem}", bundle.display()));
    }
    if damaged && delivery.is_triton_bundle() && !delivery.saw_manifest {
        delivery.warn(format!(
            "{MANIFEST_FILE} was not found after the damage: it was probably lost in it"
        ));
    } else {
        delivery.finish()?;
    }
    super::require_end_marker(delivery, end.saw_end_marker)
}

fn describe_gaps(gaps: &[Gap]) -> String {
    let mut text = gaps[0].describe();
    if gaps.len() > 1 {
        text.push_str(&format!(
            ", and {} more damaged stretch(es) up to compressed byte {}",
            gaps.len() - 1,
            gaps.iter().map(|g| g.end).max().unwrap_or(0)
        ));
    }
    text
}

fn resumed_warning(
    bundle: &Path,
    gaps: &[Gap],
    lost_entry: Option<&Seen>,
    resumed: &Resumed,
) -> String {
    let mut lost = Vec::new();
    if let Some(entry) = lost_entry {
        lost.push(format!("the rest of entry {:?}", entry.name));
    }
    let skipped = gaps.iter().all(Gap::size_known).then(|| {
        let lost_bytes: u64 = gaps.iter().filter_map(|g| g.lost).sum();
        format!("{lost_bytes} bytes of the tar stream lost")
    });
    if !resumed.where_expected {
        lost.push("any entry whose header lay in the damaged part (names unknown)".to_string());
    }
    let end = gaps.iter().map(|g| g.end).max().unwrap_or(0);
    let mut text = format!(
        "{}: {}; reading resumed after compressed byte {end} at entry {:?}",
        bundle.display(),
        describe_gaps(gaps),
        resumed.name
    );
    if let Some(skipped) = skipped {
        text.push_str(&format!(" ({skipped})"));
    }
    if lost.is_empty() {
        text.push_str("; no entry was lost");
    } else {
        text.push_str(&format!("; lost: {}", lost.join(" and ")));
    }
    text
}
