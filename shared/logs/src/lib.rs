//! Log engine for Triton's bunyan logs.
//!
//! - [`LogReader`] streams a log (any `BufRead`: file, gzip, stdin) as classified lines: bunyan
//!   records, continuation lines that belong to the record before them, and orphan lines. Bytes
//!   are kept as they are (invalid UTF-8 survives) and a line longer than a cap is cut.
//! - [`Record`] gives cheap access to `time`, `level`, `name`, ids and `msg` by locating them in
//!   the raw line; a full parse only happens when a record is printed.
//! - [`MergeReader`] merges several logs by record time; [`seek::start_offset_for`] finds where
//!   a time window starts in a big file; [`slice_window`] copies the part of a log inside a
//!   time window, bytes unchanged (for collectors).
//! - [`bundle_input`] picks the logs inside bundles and archives.
//! - [`render`] prints records exactly as the bunyan CLI does; [`logs_main`] is the `logs`
//!   command built from all of it.

pub mod bundle_input;
pub mod cli;
#[doc(hidden)]
pub mod conformance;
pub mod input;
mod jsparse;
mod jsval;
pub mod lines;
pub mod merge;
pub mod reader;
pub mod record;
pub mod render;
mod scan;
pub mod seek;
mod structural;
pub mod time;
pub mod window;

pub use cli::{logs_main, LogsArgs};
pub use input::{expand_inputs, open_input, InputSpec};
pub use lines::{LineInfo, LineReader, DEFAULT_LINE_CAP};
pub use merge::{MergeEvent, MergeReader};
pub use reader::{Entries, Entry, Line, LineKind, LogReader};
pub use record::Record;
pub use render::{render_record, OutputMode, OutputSpec, RenderOptions};
pub use scan::{select_json_validator, JSON_VALIDATORS};
pub use time::{parse_record_time, parse_time_bound};
pub use window::{slice_file_window, slice_window, SliceStats, TimeWindow};
