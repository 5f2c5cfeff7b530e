//! BGZF reading that survives damage: each member is inflated and checked on its own, a damaged
//! one is reported with its compressed offset, and reading goes on with the members after it
//! (see `frames.rs` for finding members, `resync.rs` for finding the tar entries again).

mod blocks;
mod frames;
mod member;
pub(crate) mod resync;
mod stream;

use std::io::Read;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use self::blocks::Blocks;
pub(crate) use self::stream::{BgzfStream, Gap, SharedStream};

/// Compressed bytes searched, at most, for the next member header after a damaged one.
pub(crate) const MEMBER_SEARCH_BYTES: u64 = 64 * 1024 * 1024;
/// Inflated bytes searched, at most, for the next tar header after damage.
pub(crate) const HEADER_SEARCH_BYTES: u64 = 64 * 1024 * 1024;

/// The tar stream of the BGZF file `input`, inflated by `threads` threads; `read_to` follows
/// the compressed offset of the data handed out.
pub(crate) fn stream(
    input: Box<dyn Read + Send>,
    threads: usize,
    read_to: Arc<AtomicU64>,
) -> BgzfStream {
    BgzfStream::new(Blocks::new(input, threads, MEMBER_SEARCH_BYTES), read_to)
}
