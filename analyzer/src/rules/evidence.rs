//! Evidence references: where, what line, when, and the excerpt itself.

use serde::Serialize;

use crate::input::observations::LogRecord;
use crate::input::place::Place;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub place: Place,
    /// 1-based line inside the entry.
    pub line: Option<u64>,
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
            time: None,
            excerpt: excerpt.into(),
            note: note.into(),
        }
    }
}
