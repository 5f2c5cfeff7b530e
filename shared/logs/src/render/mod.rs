//! Printing records exactly as the bunyan CLI (1.8.15) prints them.

mod inspect;
mod long;
mod status;

pub use inspect::{inspect, InspectOptions};

use jiff::tz::TimeZone;
use serde_json::Value;

use crate::jsval;
use crate::record::Record;

/// The `-o` output modes of the bunyan CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    Long,
    Short,
    Simple,
    /// `json` / `json-N`: `JSON.stringify` with the given indent.
    Json,
    /// `bunyan`: one compact JSON line, bunyan's native format.
    Bunyan,
    /// `inspect`: Node's `util.inspect` (always colored, as bunyan does it).
    Inspect,
}

/// How `-o MODE` was read: the mode and the JSON indent it carries (`json-4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSpec {
    pub mode: OutputMode,
    pub json_indent: usize,
}

impl OutputSpec {
    /// Reads `-o` the way bunyan does: a numeric suffix after the last `-` is the JSON indent
    /// (`json-4`, also `long-2`), the rest is the mode name.
    pub fn parse(text: &str) -> Result<OutputSpec, String> {
        let mut name = text;
        let mut json_indent = 2;
        if let Some(idx) = text.rfind('-') {
            let n = jsval::string_to_number(&text[idx + 1..]);
            if !n.is_nan() {
                json_indent = if n >= 1.0 { n.min(10.0) as usize } else { 0 };
                name = &text[..idx];
            }
        }
        let mode = match name {
            "long" | "paul" => OutputMode::Long,
            "json" => OutputMode::Json,
            "inspect" => OutputMode::Inspect,
            "simple" => OutputMode::Simple,
            "short" => OutputMode::Short,
            "bunyan" => OutputMode::Bunyan,
            _ => return Err(format!("unknown output mode: \"{name}\"")),
        };
        Ok(OutputSpec { mode, json_indent })
    }
}

/// Everything that decides how a record is printed.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub output: OutputSpec,
    /// ANSI colors (the `--color` hook; off for `--no-color`).
    pub color: bool,
    /// `Some` for `-L`/`--time local`: times are shown in this zone.
    pub local_time: Option<TimeZone>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            output: OutputSpec {
                mode: OutputMode::Long,
                json_indent: 2,
            },
            color: false,
            local_time: None,
        }
    }
}

/// Appends the printed form of `record` (with its final newline) to `out`. A record that cannot
/// be parsed in full (which classification makes rare) is printed as its raw line.
pub fn render_record(record: &Record<'_>, opts: &RenderOptions, out: &mut Vec<u8>) {
    let Some(value) = record.to_value() else {
        out.extend_from_slice(record.line());
        out.push(b'\n');
        return;
    };
    let text = render_value(value, opts);
    out.extend_from_slice(text.as_bytes());
}

/// The printed form of a parsed record, newline included.
pub fn render_value(value: Value, opts: &RenderOptions) -> String {
    let mut text = match (opts.output.mode, value) {
        (OutputMode::Long, Value::Object(map)) => long::render(map, false, opts),
        (OutputMode::Short, Value::Object(map)) => long::render(map, true, opts),
        (OutputMode::Simple, Value::Object(map)) => long::render_simple(&map),
        (OutputMode::Json, value) => jsval::stringify(&value, opts.output.json_indent),
        (OutputMode::Bunyan, value) => jsval::stringify(&value, 0),
        (OutputMode::Inspect, value) => inspect(
            &value,
            InspectOptions {
                depth: None,
                colors: true,
            },
        ),
        (_, value) => jsval::stringify(&value, 0),
    };
    if !matches!(
        opts.output.mode,
        OutputMode::Long | OutputMode::Short | OutputMode::Simple
    ) {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_spec_reads_indents_like_bunyan() {
        let spec = |s: &str| OutputSpec::parse(s).unwrap();
        assert_eq!(spec("json-4").json_indent, 4);
        assert_eq!(spec("json-4").mode, OutputMode::Json);
        assert_eq!(spec("json").json_indent, 2);
        assert_eq!(spec("json-").json_indent, 0);
        assert_eq!(spec("paul").mode, OutputMode::Long);
        assert!(OutputSpec::parse("xml").is_err());
        assert!(OutputSpec::parse("json-x").is_err());
    }
}
