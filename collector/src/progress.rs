//! What the person running the collector sees on stderr while it works.
//!
//! On a terminal, one live line at the bottom says which source is being collected, how many
//! files and bytes are in the bundle so far and how long the run has taken; it is redrawn several
//! times a second, so a command that takes its full timeout still shows the clock moving. The
//! ordinary lines (one per finished source, warnings) scroll above it. When stderr is not a
//! terminal (a pipe, a file, `sdc-oneachnode`) there is no live line, only the ordinary lines,
//! so logs stay free of control characters. `-q` shows neither: only errors, warnings and the
//! final summary.

use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use triton_bundle::manifest::Item;

use crate::size::human;

/// How often the live line is redrawn when nothing else happens (keeps the clock moving).
const TICK: Duration = Duration::from_millis(250);

pub struct Progress {
    quiet: bool,
    verbose: bool,
    live: Option<LiveLine>,
}

/// The redrawn line and the counts it shows.
struct LiveLine {
    bar: ProgressBar,
    tally: Mutex<RunningTally>,
}

#[derive(Default)]
struct RunningTally {
    source: String,
    files: u64,
    bytes: u64,
}

impl RunningTally {
    fn message(&self) -> String {
        format!(
            "{}  |  {} file(s), {} so far",
            if self.source.is_empty() {
                "starting"
            } else {
                &self.source
            },
            self.files,
            human(self.bytes)
        )
    }
}

impl Progress {
    /// Progress for this run: the live line only when stderr is a terminal and not `-q`.
    pub fn new(quiet: bool, verbose: u8) -> Progress {
        let live = (!quiet && std::io::stderr().is_terminal()).then(LiveLine::start);
        Progress {
            quiet,
            verbose: verbose > 0,
            live,
        }
    }

    /// Ordinary progress (hidden by `-q`).
    pub fn line(&self, text: &str) {
        if !self.quiet {
            self.print(&format!("triton-collect: {text}"));
        }
    }

    /// Per-item detail (only with `-v`).
    pub fn detail(&self, text: &str) {
        if self.verbose && !self.quiet {
            self.print(&format!("triton-collect:   {text}"));
        }
    }

    /// Always shown.
    pub fn warn(&self, text: &str) {
        self.print(&format!("triton-collect: warning: {text}"));
    }

    /// Always shown.
    pub fn error(&self, text: &str) {
        self.print(&format!("triton-collect: error: {text}"));
    }

    /// One raw line on stderr, always shown (above the live line when there is one). A stderr
    /// nobody reads any more (`2>&1 | head`, a closed terminal) does not stop the collection:
    /// the line is dropped, the bundle still written.
    pub fn print(&self, text: &str) {
        match &self.live {
            Some(live) => live.bar.println(text),
            None => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "{text}");
            }
        }
    }

    /// The live line names `source` as the one being collected now.
    pub fn working_on(&self, source: &str) {
        if let Some(live) = &self.live {
            let mut tally = live.tally();
            if tally.source != source {
                tally.source = source.to_string();
                live.bar.set_message(tally.message());
            }
        }
    }

    /// Counts an item into the live line's running totals (a file when something was stored).
    pub fn collected(&self, item: &Item) {
        if let Some(live) = &self.live {
            let mut tally = live.tally();
            if item.path.is_some() {
                tally.files += 1;
            }
            tally.bytes += item.bytes;
            live.bar.set_message(tally.message());
        }
    }

    /// Removes the live line (before the final summary).
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            live.bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl LiveLine {
    fn start() -> LiveLine {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        // The template is a constant; should it ever fail to parse, the default style is used.
        // ASCII only: the customer's terminal may not be set up for UTF-8.
        if let Ok(style) =
            ProgressStyle::with_template("triton-collect: [{elapsed_precise}] {spinner} {msg}")
        {
            bar.set_style(style.tick_chars("|/-\\ "));
        }
        let tally = RunningTally::default();
        bar.set_message(tally.message());
        bar.enable_steady_tick(TICK);
        LiveLine {
            bar,
            tally: Mutex::new(tally),
        }
    }

    fn tally(&self) -> MutexGuard<'_, RunningTally> {
        self.tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_message_names_the_source_and_the_running_totals() {
        let tally = RunningTally {
            source: "vmapi.log".into(),
            files: 3,
            bytes: 3 << 20,
        };
        assert_eq!(tally.message(), "vmapi.log  |  3 file(s), 3.0 MiB so far");
        assert!(RunningTally::default().message().starts_with("starting"));
    }

    #[test]
    fn without_a_terminal_there_is_no_live_line() {
        // Test processes' stderr is captured by the harness, never a terminal.
        if !std::io::stderr().is_terminal() {
            assert!(Progress::new(false, 0).live.is_none());
        }
        assert!(Progress::new(true, 0).live.is_none());
    }
}
