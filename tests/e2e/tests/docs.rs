//! The documentation's runnable examples run: every fenced `console` block of README.md and
//! docs/*.md is executed with bash in a fresh directory per page, with the workspace's binaries (and the
//! simulator's) first on PATH. A `$ ` line is a command; the lines after it, up to the next
//! command, are output that must appear in what the commands print. Blocks fenced `sh` show
//! commands for a real headnode or a long run and are not executed.

use std::path::{Path, PathBuf};
use std::process::Command;

use triton_test_support::{run, simulator, workspace_bin};

/// One `console` block: where it is and its commands with their expected output lines.
struct Example {
    place: String,
    steps: Vec<(String, Vec<String>)>,
}

fn examples(file: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut out = Vec::new();
    let mut current: Option<Example> = None;
    for (number, line) in text.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```console") => {
                current = Some(Example {
                    place: format!("{}:{}", file.display(), number + 1),
                    steps: Vec::new(),
                })
            }
            (Some(_), "```") => out.extend(current.take()),
            (Some(example), text) => match text.strip_prefix("$ ") {
                Some(command) => example.steps.push((command.to_string(), Vec::new())),
                None if !text.is_empty() => {
                    let step = example
                        .steps
                        .last_mut()
                        .unwrap_or_else(|| panic!("{}: output before any command", example.place));
                    step.1.push(text.to_string());
                }
                None => {}
            },
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "{}: unclosed console block",
        file.display()
    );
    out
}

fn documentation() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_console_example_in_the_docs_runs() {
    let bin_dirs: Vec<PathBuf> = ["triton-analyze", "triton-collect"]
        .iter()
        .map(|p| workspace_bin(p))
        .chain([simulator()])
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    let path = std::env::join_paths(bin_dirs.into_iter().chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let mut ran = 0;
    for file in documentation() {
        // The examples of one page build on each other (one makes a bundle, the next reads it).
        let dir = tempfile::tempdir().expect("tempdir");
        for example in examples(&file) {
            // The commands of one block share a shell, so `. dc/env.sh` carries to the next.
            let mut script = String::from("set -e\n");
            for (command, _) in &example.steps {
                script.push_str(command);
                script.push('\n');
            }
            let output = run(Command::new("bash")
                .arg("-c")
                .arg(&script)
                .current_dir(dir.path())
                .env("PATH", &path));
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{}: the example failed ({}):\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
                example.place,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            for (command, expected) in &example.steps {
                for line in expected {
                    assert!(
                        stdout.lines().any(|l| l.trim_end() == line),
                        "{}: `{command}` should print {line:?}; printed:\n{stdout}",
                        example.place
                    );
                }
            }
            ran += 1;
        }
    }
    assert!(ran >= 2, "only {ran} console examples found in the docs");
}
