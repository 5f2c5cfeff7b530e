//! triton-analyze: reads triton-collect bundles (or hand-gathered files) and says, for each VM
//! provision in them, how far it got, why it failed, what proves it and what to do next.
//!
//! Pipeline, one module per stage: [`input`] recognizes each entry's source and runs its parser
//! ([`parsers`]) into per-input observations; [`facts`] merges them into provisions, compute nodes
//! and coverage; [`rules`] turn facts into findings; [`report`] renders markdown and JSON.

pub mod facts;
pub mod input;
pub mod parsers;
pub mod report;
pub mod rules;

use std::path::PathBuf;

use rayon::prelude::*;

/// What to analyze and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub inputs: Vec<PathBuf>,
    pub scope: report::Scope,
    /// Worker threads for reading inputs (0: rayon's default).
    pub threads: usize,
}

/// The result of an analysis.
pub struct Analysis {
    pub facts: facts::Facts,
    pub report: report::Report,
    /// Inputs that could not be read at all, with the reason.
    pub unreadable: Vec<input::InputError>,
}

/// Reads every input (in parallel), merges the facts, runs the rules, builds the report.
/// The result is the same whatever the thread count: inputs are merged in command-line order.
pub fn analyze(options: &Options) -> anyhow::Result<Analysis> {
    let read = |inputs: &[PathBuf]| -> Vec<Result<input::Observations, input::InputError>> {
        // Cores not taken by one input each inflate BGZF blocks ahead of the parser.
        let inflate_threads = (rayon::current_num_threads() / inputs.len().max(1)).max(1);
        inputs
            .par_iter()
            .enumerate()
            .map(|(i, path)| input::read_input(i, path, inflate_threads))
            .collect()
    };
    let results = if options.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads)
            .build()?
            .install(|| read(&options.inputs))
    } else {
        read(&options.inputs)
    };
    let mut observations = Vec::new();
    let mut unreadable = Vec::new();
    for r in results {
        match r {
            Ok(o) => observations.push(o),
            Err(e) => unreadable.push(e),
        }
    }
    let facts = facts::build(observations);
    let report = report::build(
        &facts,
        unreadable
            .iter()
            .map(|e| (e.input.clone(), e.reason.clone()))
            .collect(),
        &options.scope,
    );
    Ok(Analysis {
        facts,
        report,
        unreadable,
    })
}
