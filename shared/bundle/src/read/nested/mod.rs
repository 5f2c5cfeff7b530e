//! Archives inside archives, read by streaming: a `sdc-sbcreate` service bundle is a `.tar.bz2`
//! whose members are themselves `.tar.gz`, `.tar` and `.gz` files. Nothing is unpacked to disk.
//!
//! A member is opened when its first bytes say it is a tar, a gzip or a bzip2 stream. Its
//! entries are delivered as `<member>//<inner path>`: a normalized archive name never has an
//! empty component, so `//` cannot come from a name in the archive and the split is exact. A
//! single compressed file (`vmapi_vms.gz`) is delivered inflated as `vmapi_vms.gz//vmapi_vms`.
//!
//! Inner entries obey the same rules as outer ones (only regular files with safe names). Limits
//! bound the work a hostile input can cause: the nesting depth, the bytes inflated from nested
//! members in total, and the inflate ratio of each member. Reaching one stops that member with
//! a warning naming it; what came before it has been delivered, and the outer archive goes on.

mod limits;

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use self::limits::Inflating;
pub use self::limits::NestedLimits;
pub(crate) use self::limits::Nesting;
pub(crate) use self::limits::RATIO_EXEMPT_BYTES;

use super::compression::{decoder, inner_file_name, Compression};
use super::deliver::Delivery;
use super::detect::{classify, looks_like_tar_header, read_head};
use super::entry::Entry;
use super::position::Position;
use super::source::{Flow, RawKind};
use super::tar_stream::{stream_tar, StreamError};
use crate::error::BundleError;
use crate::paths::normalize_archive_name;

/// Separates a nested archive member from the path of an entry inside it.
pub const NESTED_SEPARATOR: &str = "//";

/// Compressed bytes looked at, at most, to tell a compressed tar from a single compressed file
/// (a hostile gzip header can be arbitrarily long).
const PROBE_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Largest single compressed file (not a tar) delivered inflated. Its inflated size must be known
/// before it is handed out, so it is held compressed in memory and inflated twice; a larger one
/// is delivered as it is.
const MAX_SINGLE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Keeps a copy of the compressed bytes read while a member's kind is not known yet, so a
/// single compressed file can be read again from its start.
struct Recorder<'r> {
    inner: &'r mut dyn Read,
    copy: Rc<RefCell<Recording>>,
}

enum Recording {
    On(Vec<u8>),
    Off,
    /// More than [`PROBE_RECORD_BYTES`] were needed: the start is lost.
    Overflowed,
}

impl Read for Recorder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut copy = self.copy.borrow_mut();
        if let Recording::On(bytes) = &mut *copy {
            if bytes.len() + n > PROBE_RECORD_BYTES {
                *copy = Recording::Overflowed;
            } else {
                bytes.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// Whether a member's first block is a tar header. Unlike for the input itself, a block of zeros
/// (an empty tar) does not count: a file that merely starts with zeros must not vanish as an
/// empty archive.
fn is_tar_start(head: &[u8]) -> bool {
    head.len() == 512 && head.iter().any(|b| *b != 0) && looks_like_tar_header(head)
}

/// A sink that remembers whether everything written to it was zero bytes.
struct ZeroWatch {
    all_zero: bool,
}

impl io::Write for ZeroWatch {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.all_zero = self.all_zero && buf.iter().all(|b| *b == 0);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What looking at the inflated start of a compressed member found.
enum Probe {
    /// A tar, read; with the problem that ended it early, if any.
    Tar(Option<String>),
    SingleFile,
    Broken(String),
}

impl Delivery<'_, '_> {
    /// Delivers `member` (a regular file named by its path), or the entries inside it when it
    /// is an archive and the limits allow opening it. `depth` is the nesting level it would
    /// have once opened (1 for a member of the input itself).
    ///
    /// A read error of `member` itself is recorded by it and left for the caller to report;
    /// damage inside the nested archive is a warning.
    pub(crate) fn offer_nested(
        &mut self,
        member: &mut Entry<'_>,
        depth: u32,
    ) -> Result<(), BundleError> {
        let Ok(head) = read_head(member, 512) else {
            return Ok(());
        };
        let detected = classify(&head);
        let is_archive = is_tar_start(&head) || detected.compression().is_some();
        if !is_archive {
            return self.hand_over_replayed(member, head);
        }
        let Some(nesting) = self.nesting() else {
            return self.hand_over_replayed(member, head);
        };
        let max_depth = nesting.limits.max_depth;
        if depth > max_depth {
            self.warn(format!(
                "{}: archive not opened: nested deeper than {max_depth} levels; delivered as it is",
                member.path()
            ));
            return self.hand_over_replayed(member, head);
        }
        match detected.compression() {
            None => {
                let name = member.path().to_string();
                let problem = {
                    let input = io::Cursor::new(head).chain(&mut *member);
                    self.read_nested_tar(&name, input, depth)?
                };
                self.settle(member, problem);
                Ok(())
            }
            Some(compression) => self.open_compressed(member, head, compression, depth),
        }
    }

    fn nesting(&mut self) -> Option<&mut Nesting> {
        self.nesting.as_mut()
    }

    fn open_compressed(
        &mut self,
        member: &mut Entry<'_>,
        head: Vec<u8>,
        compression: Compression,
        depth: u32,
    ) -> Result<(), BundleError> {
        let name = member.path().to_string();
        let size = member.size();
        let Some(nesting) = self.nesting() else {
            return self.hand_over_replayed(member, head);
        };
        if nesting.budget.spent() {
            if !nesting.told_spent {
                nesting.told_spent = true;
                let max = nesting.limits.max_inflated_bytes;
                self.warn(format!(
                    "{name}: compressed archives from here on are delivered as they are: the \
                     {max} bytes allowed for inflating nested archives are spent"
                ));
            }
            return self.hand_over_replayed(member, head);
        }
        let (budget, max_ratio) = (Rc::clone(&nesting.budget), nesting.limits.max_ratio);
        let recording = Rc::new(RefCell::new(Recording::On(Vec::new())));
        let probe = {
            let raw = io::Cursor::new(&head[..]).chain(Recorder {
                inner: &mut *member,
                copy: Rc::clone(&recording),
            });
            let mut inflated =
                Inflating::new(decoder(compression, raw), &name, size, max_ratio, budget);
            match read_head(&mut inflated, 512) {
                Err(e) => Probe::Broken(format!("damaged {} data: {e}", compression.describe())),
                Ok(start) if is_tar_start(&start) => {
                    *recording.borrow_mut() = Recording::Off;
                    let input = io::Cursor::new(start).chain(inflated);
                    Probe::Tar(self.read_nested_tar(&name, input, depth)?)
                }
                Ok(_) => Probe::SingleFile,
            }
        };
        match probe {
            Probe::Tar(problem) => self.settle(member, problem),
            Probe::Broken(problem) => {
                let limit_hit = self
                    .nesting()
                    .is_some_and(|n| n.budget.hit.borrow().is_some());
                let intact = !member.has_failure() && !member.truncated();
                if let (false, true, Recording::On(recorded)) =
                    (limit_hit, intact, recording.replace(Recording::Off))
                {
                    // Only looks compressed: the caller gets the bytes.
                    self.warn(format!("{name}: {problem}; delivered as it is"));
                    let mut start = head;
                    start.extend_from_slice(&recorded);
                    return self.hand_over_replayed(member, start);
                }
                self.settle(member, Some(problem));
            }
            Probe::SingleFile => {
                let recorded = match recording.replace(Recording::Off) {
                    Recording::On(bytes) => bytes,
                    Recording::Off | Recording::Overflowed => {
                        self.skip_named(
                            &name,
                            "compressed file whose header is too long to read (hostile?)",
                        );
                        return Ok(());
                    }
                };
                let mut compressed = head;
                compressed.extend_from_slice(&recorded);
                if size > MAX_SINGLE_FILE_BYTES {
                    self.warn(format!(
                        "{name}: a single {} file over {MAX_SINGLE_FILE_BYTES} bytes is \
                         delivered compressed",
                        compression.describe()
                    ));
                    return self.hand_over_replayed(member, compressed);
                }
                let rest = size.saturating_sub(compressed.len() as u64);
                if member.take(rest).read_to_end(&mut compressed).is_err() {
                    return Ok(());
                }
                return self.deliver_single(&name, &compressed, compression, depth);
            }
        }
        Ok(())
    }

    /// A single compressed file held in memory: inflated once to learn its size (and to stop a
    /// bomb before anything is delivered), then again for the caller.
    fn deliver_single(
        &mut self,
        name: &str,
        compressed: &[u8],
        compression: Compression,
        depth: u32,
    ) -> Result<(), BundleError> {
        let Some(nesting) = self.nesting() else {
            return Ok(());
        };
        let (budget, max_ratio) = (Rc::clone(&nesting.budget), nesting.limits.max_ratio);
        let mut counting = Inflating::new(
            decoder(compression, compressed),
            name,
            compressed.len() as u64,
            max_ratio,
            Rc::clone(&budget),
        );
        let mut zeros = ZeroWatch { all_zero: true };
        let size = match io::copy(&mut counting, &mut zeros) {
            Ok(size) => size,
            Err(e) => {
                let problem = match budget.hit.borrow_mut().take() {
                    Some(hit) => hit.text,
                    None => format!("damaged {} data: {e}", compression.describe()),
                };
                self.warn(format!("{name}: {problem}"));
                return Ok(());
            }
        };
        if zeros.all_zero && size >= 1024 && size % 512 == 0 {
            // An empty tar (`tar czf x.tar.gz` of paths that do not exist): nothing inside.
            return Ok(());
        }
        let file_name = name.rsplit('/').next().unwrap_or(name);
        let path = format!(
            "{name}{NESTED_SEPARATOR}{}",
            inner_file_name(file_name, compression)
        );
        let mut inflated = decoder(compression, compressed);
        let mut entry = Entry::new(&path, size, &mut inflated);
        let outcome = self.offer_nested(&mut entry, depth + 1);
        if !entry.has_failure() {
            outcome?;
            let _ = entry.drain();
        }
        if entry.truncated() || entry.has_failure() {
            self.warn(format!(
                "{name}: {} data read differently the second time",
                compression.describe()
            ));
        }
        Ok(())
    }

    /// Streams the entries of a nested tar, each offered in turn (and opened when it is an
    /// archive itself). Returns the problem that ended it early, if any.
    fn read_nested_tar(
        &mut self,
        name: &str,
        input: impl Read,
        depth: u32,
    ) -> Result<Option<String>, BundleError> {
        let position = Position::new(None);
        let mut problem: Option<String> = None;
        let mut last: Option<String> = None;
        let result = stream_tar(input, &position, &mut |raw| {
            let inner = match normalize_archive_name(raw.name) {
                Ok(inner) => inner,
                Err(why) => {
                    let shown = String::from_utf8_lossy(raw.name);
                    self.skip_named(&format!("{name}{NESTED_SEPARATOR}{shown}"), why.describe());
                    return Ok(Flow::Continue);
                }
            };
            match raw.kind {
                RawKind::Regular => {}
                RawKind::Directory => return Ok(Flow::Continue),
                RawKind::Other(what) => {
                    self.skip_named(&format!("{name}{NESTED_SEPARATOR}{inner}"), what);
                    return Ok(Flow::Continue);
                }
            }
            let path = format!("{name}{NESTED_SEPARATOR}{inner}");
            let mut entry = Entry::new(&path, raw.size, raw.reader);
            let outcome = self.offer_nested(&mut entry, depth + 1);
            if !entry.has_failure() {
                outcome?;
                let _ = entry.drain();
            }
            if entry.truncated() || entry.has_failure() {
                let why = entry
                    .take_failure()
                    .map_or_else(|| "cut short".to_string(), |e| e.to_string());
                problem = Some(format!("damaged at inner entry {inner:?}: {why}"));
                return Ok(Flow::Stop);
            }
            last = Some(inner);
            Ok(Flow::Continue)
        });
        let after = match &last {
            Some(entry) => format!("after inner entry {entry:?}"),
            None => "before its first entry".to_string(),
        };
        match result {
            Err(StreamError::Sink(e)) => Err(e),
            Err(StreamError::Io(e)) => Ok(Some(problem.unwrap_or(format!("damaged {after}: {e}")))),
            Ok(_) if problem.is_some() => Ok(problem),
            Ok(end) if !end.saw_end_marker => Ok(Some(format!(
                "ends {after} without the tar end-of-archive block (truncated?)"
            ))),
            Ok(end) => Ok(end.trailer_problem.map(|p| p.to_string())),
        }
    }

    /// Reports what ended a nested archive early, unless its container broke under it (the
    /// container reports that). A limit reached is reported with the member it stopped.
    fn settle(&mut self, member: &mut Entry<'_>, problem: Option<String>) {
        let Some(problem) = problem else { return };
        if member.has_failure() || member.truncated() {
            return;
        }
        let hit = self
            .nesting()
            .and_then(|nesting| nesting.budget.hit.borrow_mut().take());
        match hit {
            Some(hit) => self.warn(format!("{}: {}", hit.member, hit.text)),
            None => self.warn(format!(
                "{}: nested archive {problem}; the entries before were delivered",
                member.path()
            )),
        }
    }

    /// Hands `member` over as a file, its first bytes (already read) put back in front.
    fn hand_over_replayed(
        &mut self,
        member: &mut Entry<'_>,
        head: Vec<u8>,
    ) -> Result<(), BundleError> {
        let path = member.path().to_string();
        let size = member.size();
        let mut replay = io::Cursor::new(head).chain(&mut *member);
        let mut entry = Entry::new(&path, size, &mut replay);
        let outcome = self.hand_over(&mut entry);
        if !entry.has_failure() {
            outcome?;
            let _ = entry.drain();
        }
        if !entry.has_failure() && !entry.truncated() {
            self.count_delivered();
        }
        Ok(())
    }
}
