//! Evidence references: where, what line, when, and the excerpt itself.

use serde::Serialize;

use crate::input::observations::LogRecord;
use crate::input::place::Place;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub place: Place,
    /// 1-based line inside the entry; in the report, the original's line when the manifest
    /// says where a cut entry starts (see [`Place::cite`]).
    pub line: Option<u64>,
    /// The line inside the entry, when `line` was mapped to the original's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_in_bundle: Option<u64>,
    /// Byte offset in the original where a cut entry starts, when `line` counts from there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_offset_start: Option<u64>,
    pub time: Option<String>,
    /// The text, verbatim (rendered as text, never as markup).
    pub excerpt: String,
    /// What this shows.
    pub note: String,
}

impl Evidence {
    pub fn from_record(r: &LogRecord, note: impl Into<String>) -> Evidence {
        Evidence {
            place: r.place.clone(),
            line: Some(r.record.line),
            line_in_bundle: None,
            original_offset_start: None,
            time: r.record.time.clone(),
            excerpt: r.record.excerpt(),
            note: note.into(),
        }
    }

    pub fn at(
        place: &Place,
        line: Option<u64>,
        excerpt: impl Into<String>,
        note: impl Into<String>,
    ) -> Evidence {
        Evidence {
            place: place.clone(),
            line,
            line_in_bundle: None,
            original_offset_start: None,
            time: None,
            excerpt: excerpt.into(),
            note: note.into(),
        }
    }

    /// Cites the original's line where the entry is a cut of it (done once, on the report).
    pub fn cite_original_line(&mut self) {
        if self.line_in_bundle.is_some() || self.original_offset_start.is_some() {
            return;
        }
        let citation = self.place.cite(self.line);
        self.line = citation.line;
        self.line_in_bundle = citation.line_in_bundle;
        self.original_offset_start = citation.original_offset_start;
    }
}
