//! Report sinks over the same [`model::Report`]: markdown for tickets, JSON for tools
//! (schema in `docs/report-json.md`), one self-contained HTML file for a browser.

pub mod collection;
pub mod escape;
pub mod excerpt;
pub mod fleet;
pub mod html;
pub mod markdown;
pub mod model;
pub mod redaction;
pub mod sections;
pub mod sentences;

pub use model::{build, Report, Scope};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Html,
}

/// Renders a report.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(report)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            text
        }
    }
}
