//! A corpus of hostile inputs for the analyzer, generated at test time (never stored as blobs):
//! damaged and malicious archives, decompression bombs, and bundles whose files lie, overflow or
//! carry markup. Each case says what the analyzer must make of it.

mod archive;
mod archive_cases;
mod bundle;
mod content_cases;
mod damage_cases;
mod deflate;
mod run;

use std::io;
use std::path::{Path, PathBuf};

pub use bundle::{HOSTILE_TEXT, JOB, SERVER, VM};
pub use run::{run_limited, run_limited_to, Limited};

/// What the analyzer must make of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing could be read: exit status 3, and stderr says why with this fragment.
    Refused(&'static str),
    /// A report (exit status 0) whose input warnings or text carry this fragment: what was
    /// skipped, or what was still read.
    Partial(&'static str),
}

/// One hostile input.
#[derive(Debug, Clone)]
pub struct HostileCase {
    pub name: &'static str,
    /// The inputs, each in the case's own directory (nothing else is in it).
    pub inputs: Vec<PathBuf>,
    pub outcome: Outcome,
    /// The report must show the planted markup (lines with `HOSTILE`) as text.
    pub hostile_text: bool,
    /// `triton-analyze logs` applies too.
    pub logs: bool,
    /// More fragments the analyzer's stderr or report must carry (e.g. what was read after
    /// damage, and what was lost).
    pub also: Vec<&'static str>,
    /// Fragments neither may carry (e.g. an entry that must not have been read).
    pub never: Vec<&'static str>,
}

impl HostileCase {
    /// The directory holding the case's inputs.
    pub fn dir(&self) -> &Path {
        self.inputs[0]
            .parent()
            .expect("inputs live in the case directory")
    }
}

/// The cases being written, each in `root/<name>/`.
pub(crate) struct Cases {
    root: PathBuf,
    list: Vec<HostileCase>,
}

impl Cases {
    /// A path for an input of case `name` (its directory is created).
    fn input(&self, name: &str, file: &str) -> io::Result<PathBuf> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(file))
    }

    fn push(&mut self, name: &'static str, inputs: Vec<PathBuf>, outcome: Outcome) {
        assert!(
            self.list.iter().all(|c| c.name != name),
            "duplicate case {name}"
        );
        self.list.push(HostileCase {
            name,
            inputs,
            outcome,
            hostile_text: false,
            logs: false,
            also: Vec::new(),
            never: Vec::new(),
        });
    }

    fn last(&mut self) -> &mut HostileCase {
        self.list.last_mut().expect("a case was pushed")
    }
}

/// Writes every case under `dir` (which should be empty) and lists them.
pub fn corpus(dir: &Path) -> Vec<HostileCase> {
    let mut cases = Cases {
        root: dir.to_path_buf(),
        list: Vec::new(),
    };
    archive_cases::add(&mut cases).expect("writing the archive cases");
    damage_cases::add(&mut cases).expect("writing the damaged-stream cases");
    content_cases::add(&mut cases).expect("writing the content cases");
    cases.list
}
