//! Byte-for-byte conformance with the bunyan CLI (1.8.15) on node-bunyan's public test corpus.
//!
//! The corpus and the real CLI's output live outside the project, in
//! `../shared/conformance/bunyan` next to the workspace root (`cases.tsv`, `corpus/`,
//! `expected/ID.out|.rc`). Every case runs `triton-logs --no-color OPTIONS FILE` with `TZ=UTC`
//! from inside `corpus/` and must print the same stdout and exit with the same code.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/bunyan")
}

struct Case {
    id: String,
    file: String,
    options: Vec<String>,
}

fn read_cases(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("cases.tsv")).expect("read cases.tsv");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut cols = line.split('\t');
            let id = cols.next().unwrap_or_default().to_string();
            let file = cols.next().unwrap_or_default().to_string();
            let options = cols
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            Case { id, file, options }
        })
        .collect()
}

/// First differing line of two outputs, for the failure summary.
fn diff_hint(want: &[u8], got: &[u8]) -> String {
    let want_lines: Vec<&[u8]> = want.split(|b| *b == b'\n').collect();
    let got_lines: Vec<&[u8]> = got.split(|b| *b == b'\n').collect();
    for i in 0..want_lines.len().max(got_lines.len()) {
        let w = want_lines.get(i).copied();
        let g = got_lines.get(i).copied();
        if w != g {
            let show = |l: Option<&[u8]>| {
                l.map_or("<none>".to_string(), |l| {
                    let text = String::from_utf8_lossy(l);
                    let short: String = text.chars().take(120).collect();
                    format!("{short:?}")
                })
            };
            return format!("line {}: want {} got {}", i + 1, show(w), show(g));
        }
    }
    "outputs differ".to_string()
}

#[test]
fn bunyan_cli_conformance() {
    let dir = corpus_dir();
    if !dir.join("cases.tsv").is_file() {
        println!("skipped: conformance corpus not found at {}", dir.display());
        return;
    }
    let cases = read_cases(&dir);
    assert!(!cases.is_empty(), "cases.tsv lists no cases");
    let mut failures = Vec::new();
    for case in &cases {
        let expected = dir.join("expected");
        let want_out = std::fs::read(expected.join(format!("{}.out", case.id)))
            .unwrap_or_else(|e| panic!("case {}: expected output: {e}", case.id));
        let want_rc: i32 = std::fs::read_to_string(expected.join(format!("{}.rc", case.id)))
            .unwrap_or_else(|e| panic!("case {}: expected exit code: {e}", case.id))
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("case {}: expected exit code: {e}", case.id));
        let output = Command::new(env!("CARGO_BIN_EXE_triton-logs"))
            .arg("--no-color")
            .args(&case.options)
            .arg(&case.file)
            .current_dir(dir.join("corpus"))
            .env("TZ", "UTC")
            .output()
            .expect("run triton-logs");
        let got_rc = output.status.code().unwrap_or(-1);
        if output.stdout != want_out {
            failures.push(format!(
                "{} ({} {}): {}",
                case.id,
                case.file,
                case.options.join(" "),
                diff_hint(&want_out, &output.stdout)
            ));
        } else if got_rc != want_rc {
            failures.push(format!(
                "{} ({} {}): exit code {got_rc}, want {want_rc}",
                case.id,
                case.file,
                case.options.join(" ")
            ));
        }
    }
    println!(
        "bunyan conformance: {} of {} cases pass",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} bunyan conformance cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
