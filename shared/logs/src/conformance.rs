//! Running the bunyan CLI conformance corpus against a command (for tests of this crate and of
//! the programs that embed the `logs` command).
//!
//! The corpus lives outside the project, in `../shared/conformance/bunyan` next to the workspace
//! root: `cases.tsv` (`ID<TAB>FILE<TAB>OPTIONS`), `corpus/FILE`, and bunyan 1.8.15's
//! `expected/ID.out` (stdout) and `expected/ID.rc` (exit code).

use std::path::{Path, PathBuf};
use std::process::Command;

/// One case of `cases.tsv`.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub file: String,
    pub options: Vec<String>,
}

/// Where the corpus is for the workspace at `workspace_root`.
pub fn corpus_dir(workspace_root: &Path) -> PathBuf {
    workspace_root.join("../shared/conformance/bunyan")
}

/// Whether the corpus is there (tests skip, saying so, when it is not).
pub fn corpus_present(dir: &Path) -> bool {
    dir.join("cases.tsv").is_file()
}

/// Reads `cases.tsv`.
pub fn read_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let path = dir.join("cases.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
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
        .collect())
}

/// Runs every case as `PROGRAM PREFIX... --no-color OPTIONS FILE` with `TZ=UTC` inside
/// `corpus/`. Returns the number of cases, or one line per case whose stdout or exit code
/// differs from bunyan's.
pub fn check_all(dir: &Path, program: &Path, prefix: &[&str]) -> Result<usize, Vec<String>> {
    let cases = read_cases(dir).map_err(|e| vec![e])?;
    if cases.is_empty() {
        return Err(vec!["cases.tsv lists no cases".to_string()]);
    }
    let mut failures = Vec::new();
    for case in &cases {
        if let Some(failure) = check_case(dir, case, program, prefix) {
            failures.push(format!(
                "{} ({} {}): {failure}",
                case.id,
                case.file,
                case.options.join(" ")
            ));
        }
    }
    if failures.is_empty() {
        Ok(cases.len())
    } else {
        failures.push(format!("{} of {} cases fail", failures.len(), cases.len()));
        Err(failures)
    }
}

fn check_case(dir: &Path, case: &Case, program: &Path, prefix: &[&str]) -> Option<String> {
    let expected = dir.join("expected");
    let want_out = match std::fs::read(expected.join(format!("{}.out", case.id))) {
        Ok(bytes) => bytes,
        Err(e) => return Some(format!("expected output: {e}")),
    };
    let want_rc = match std::fs::read_to_string(expected.join(format!("{}.rc", case.id))) {
        Ok(text) => match text.trim().parse::<i32>() {
            Ok(rc) => rc,
            Err(e) => return Some(format!("expected exit code: {e}")),
        },
        Err(e) => return Some(format!("expected exit code: {e}")),
    };
    let output = match Command::new(program)
        .args(prefix)
        .arg("--no-color")
        .args(&case.options)
        .arg(&case.file)
        .current_dir(dir.join("corpus"))
        .env("TZ", "UTC")
        .output()
    {
        Ok(output) => output,
        Err(e) => return Some(format!("running {}: {e}", program.display())),
    };
    let got_rc = output.status.code().unwrap_or(-1);
    if output.stdout != want_out {
        Some(diff_hint(&want_out, &output.stdout))
    } else if got_rc != want_rc {
        Some(format!("exit code {got_rc}, want {want_rc}"))
    } else {
        None
    }
}

/// The first differing line of two outputs.
pub fn diff_hint(want: &[u8], got: &[u8]) -> String {
    let want_lines: Vec<&[u8]> = want.split(|b| *b == b'\n').collect();
    let got_lines: Vec<&[u8]> = got.split(|b| *b == b'\n').collect();
    let show = |line: Option<&&[u8]>| {
        line.map_or("<none>".to_string(), |l| {
            let text: String = String::from_utf8_lossy(l).chars().take(120).collect();
            format!("{text:?}")
        })
    };
    (0..want_lines.len().max(got_lines.len()))
        .find(|&i| want_lines.get(i) != got_lines.get(i))
        .map_or("outputs differ".to_string(), |i| {
            format!(
                "line {}: want {} got {}",
                i + 1,
                show(want_lines.get(i)),
                show(got_lines.get(i))
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_hint_names_the_first_differing_line() {
        assert_eq!(
            diff_hint(b"a\nb\nc\n", b"a\nx\nc\n"),
            "line 2: want \"b\" got \"x\""
        );
        assert_eq!(
            diff_hint(b"a\n", b"a\nmore\n"),
            "line 2: want \"\" got \"more\""
        );
    }
}
