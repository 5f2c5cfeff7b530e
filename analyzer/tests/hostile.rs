//! The analyzer against hostile input (`triton_test_support::hostile`): for every case, the real
//! binary must not panic or hang, must give the expected named error or partial report, stay
//! within 256 MiB, write nothing but its report, and render planted markup as text.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use triton_test_support::hostile::{corpus, run_limited_to, HostileCase, Limited, Outcome};

const BIN: &str = env!("CARGO_BIN_EXE_triton-analyze");
const MAX_RSS_KIB: u64 = 256 * 1024;

/// A hang guard, not a benchmark: debug builds are ~10 times slower.
fn time_limit(case: &str) -> Duration {
    if !cfg!(debug_assertions) {
        return Duration::from_secs(5);
    }
    // Unoptimized, the tar crate alone needs ~11 µs per entry: 11 s for a million, and the
    // analyzer ~18 s in all on an idle core; several times that on a busy machine.
    Duration::from_secs(if case == "million-entries" { 120 } else { 20 })
}

/// Cases that take long, started first so that they overlap the quick ones.
const SLOW_FIRST: &[&str] = &[
    "million-entries",
    "gzip-bomb-nested",
    "job-100k-chain",
    "zip-bomb-overlapping",
    "line-200mb",
];

/// An assertion a case is known to fail, with the bug behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Outcome,
    Memory,
    Time,
}

/// Known failures whose fix belongs to code outside this test's reach; each skips exactly one
/// assertion of one case.
const KNOWN_FAILURES: &[(&str, Check)] = &[];

fn known(case: &str, check: Check) -> bool {
    KNOWN_FAILURES.contains(&(case, check))
}

/// Every file under `dir`, relative.
fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.insert(
                path.strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
        }
    }
    out
}

/// Problems with how planted markup came out in the markdown (empty when it stayed text).
fn markup_problems(report: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !report.contains("HOSTILE") {
        problems.push("the planted text does not appear in the report".to_string());
    }
    let mut fence: Option<usize> = None;
    let mut details = 0i64;
    for (n, line) in report.lines().enumerate() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match fence {
            Some(open) if ticks >= open && line.trim_end().chars().all(|c| c == '`') => {
                fence = None;
                continue;
            }
            Some(_) => continue,
            None if ticks >= 3 => {
                fence = Some(ticks);
                continue;
            }
            None => {}
        }
        details += line.matches("<details").count() as i64;
        details -= line.matches("</details>").count() as i64;
        let lower = line.to_ascii_lowercase();
        for bad in ["<script", "<img", "](javascript:", "@here", "@channel"] {
            if lower.contains(bad) {
                problems.push(format!(
                    "line {}: live {bad:?} outside a code block: {line}",
                    n + 1
                ));
            }
        }
        if line.contains("HOSTILE") {
            let unescaped_pipe = line
                .char_indices()
                .any(|(i, c)| c == '|' && !line[..i].ends_with('\\'));
            if unescaped_pipe && !line.starts_with('|') {
                problems.push(format!(
                    "line {}: a table cell break from log text: {line}",
                    n + 1
                ));
            }
            if line.contains('<') || line.contains("~~~") && line.trim_start().starts_with("~~~") {
                problems.push(format!("line {}: raw markup from log text: {line}", n + 1));
            }
        }
    }
    if fence.is_some() {
        problems.push("a code fence is left open at the end of the report".to_string());
    }
    if details != 0 {
        problems.push(format!(
            "<details> opened and closed {details:+} times unevenly"
        ));
    }
    problems
}

struct Run {
    name: &'static str,
    what: &'static str,
    result: Limited,
}

/// Runs the analyzer on one case; returns the run and the failures found.
fn check_case(case: &HostileCase) -> (Run, Vec<String>) {
    let mut failures = Vec::new();
    let mut fail = |check: Option<Check>, message: String| {
        if check.is_some_and(|c| known(case.name, c)) {
            eprintln!("{}: known failure ({message})", case.name);
        } else {
            failures.push(format!("{}: {message}", case.name));
        }
    };
    let before = listing(case.dir());
    let out_dir = tempfile::tempdir().expect("tempdir");
    let cwd = tempfile::tempdir().expect("tempdir");
    let report_path = out_dir.path().join("report.md");
    let result = run_limited_to(
        Command::new(BIN)
            .arg("-v")
            .arg("-o")
            .arg(&report_path)
            .args(&case.inputs)
            .current_dir(cwd.path()),
        time_limit(case.name),
        None,
    );
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    let report = std::fs::read_to_string(&report_path).unwrap_or_default();
    let clipped = |s: &str| s.chars().take(2000).collect::<String>();
    if result.timed_out {
        fail(
            Some(Check::Time),
            format!("still running after {:?}", time_limit(case.name)),
        );
    } else {
        if stderr.contains("panicked") || result.signal.is_some() {
            fail(
                None,
                format!("crashed (signal {:?}): {}", result.signal, clipped(&stderr)),
            );
        }
        match (case.outcome, result.code) {
            (Outcome::Refused(fragment), Some(3)) | (Outcome::Partial(fragment), Some(0)) => {
                if !stderr.contains(fragment) && !report.contains(fragment) {
                    fail(
                        Some(Check::Outcome),
                        format!(
                            "{fragment:?} not in stderr or the report; stderr: {}",
                            clipped(&stderr)
                        ),
                    );
                }
            }
            (expected, code) => fail(
                Some(Check::Outcome),
                format!(
                    "expected {expected:?}, exit code {code:?}: {}",
                    clipped(&stderr)
                ),
            ),
        }
        for fragment in &case.also {
            if !stderr.contains(fragment) && !report.contains(fragment) {
                fail(
                    Some(Check::Outcome),
                    format!("{fragment:?} not in stderr or the report"),
                );
            }
        }
        for fragment in &case.never {
            if stderr.contains(fragment) || report.contains(fragment) {
                fail(
                    Some(Check::Outcome),
                    format!("{fragment:?} must not be in stderr or the report"),
                );
            }
        }
    }
    if result.max_rss_kib > MAX_RSS_KIB {
        fail(
            Some(Check::Memory),
            format!("peak RSS {} MiB > 256 MiB", result.max_rss_kib / 1024),
        );
    }
    let written = listing(out_dir.path());
    let allowed: BTreeSet<String> = ["report.md".to_string()].into();
    if !written.is_subset(&allowed) {
        fail(
            None,
            format!("wrote into the output directory: {written:?}"),
        );
    }
    if !listing(cwd.path()).is_empty() {
        fail(
            None,
            format!(
                "wrote into its working directory: {:?}",
                listing(cwd.path())
            ),
        );
    }
    if listing(case.dir()) != before {
        fail(None, "wrote next to its inputs".to_string());
    }
    if case.hostile_text {
        for problem in markup_problems(&report) {
            fail(None, problem);
        }
    }
    (
        Run {
            name: case.name,
            what: "analyze",
            result,
        },
        failures,
    )
}

/// Runs `triton-analyze logs` on one case: no panic, no hang, bounded memory, no stray files.
fn check_logs(case: &HostileCase) -> (Run, Vec<String>) {
    let mut failures = Vec::new();
    let mut fail = |check: Option<Check>, message: String| {
        if check.is_some_and(|c| known(case.name, c)) {
            eprintln!("{}: known failure ({message})", case.name);
        } else {
            failures.push(format!("{}: {message}", case.name));
        }
    };
    let before = listing(case.dir());
    let out_dir = tempfile::tempdir().expect("tempdir");
    let cwd = tempfile::tempdir().expect("tempdir");
    let clipped = |s: &str| s.chars().take(2000).collect::<String>();
    let sink = out_dir.path().join("logs.out");
    let result = run_limited_to(
        Command::new(BIN)
            .arg("logs")
            .args(&case.inputs)
            .current_dir(cwd.path()),
        time_limit(case.name),
        Some(File::create(&sink).expect("create")),
    );
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    if result.timed_out {
        fail(
            Some(Check::Time),
            format!("logs: still running after {:?}", time_limit(case.name)),
        );
    } else if stderr.contains("panicked")
        || result.signal.is_some()
        || result.code.is_none_or(|c| c > 2)
    {
        fail(
            None,
            format!(
                "logs: exit {:?} signal {:?}: {}",
                result.code,
                result.signal,
                clipped(&stderr)
            ),
        );
    }
    if result.max_rss_kib > MAX_RSS_KIB {
        fail(
            Some(Check::Memory),
            format!("logs: peak RSS {} MiB > 256 MiB", result.max_rss_kib / 1024),
        );
    }
    if !listing(cwd.path()).is_empty() || listing(case.dir()) != before {
        fail(None, "logs: wrote outside its output".to_string());
    }
    (
        Run {
            name: case.name,
            what: "logs",
            result,
        },
        failures,
    )
}

#[test]
fn hostile_inputs_are_refused_or_reported_within_bounds() {
    // TRITON_HOSTILE_DIR=<empty dir> keeps the corpus there for a closer look.
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("TRITON_HOSTILE_DIR").map_or(temp.path().to_path_buf(), Into::into);
    let started = std::time::Instant::now();
    let cases = corpus(&dir);
    eprintln!("{} cases generated in {:?}", cases.len(), started.elapsed());
    assert!(cases.len() >= 40, "only {} cases", cases.len());

    let mut ordered: Vec<(&HostileCase, bool)> = cases
        .iter()
        .flat_map(|c| [(c, false), (c, true)])
        .filter(|(c, logs)| !logs || c.logs)
        .collect();
    ordered.sort_by_key(|(c, _)| {
        SLOW_FIRST
            .iter()
            .position(|s| *s == c.name)
            .unwrap_or(usize::MAX)
    });
    let queue = Mutex::new(ordered.into_iter());
    let results = Mutex::new((Vec::new(), Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let Some((case, logs)) = queue.lock().expect("queue").next() else {
                    break;
                };
                let (run, failures) = if logs {
                    check_logs(case)
                } else {
                    check_case(case)
                };
                let mut all = results.lock().expect("results");
                all.0.push(run);
                all.1.extend(failures);
            });
        }
    });
    let (mut runs, failures) = results.into_inner().expect("results");
    runs.sort_by_key(|r| (r.name, r.what));
    for r in &runs {
        eprintln!(
            "{:32} {:8} exit {:>4} {:>7.2}s {:>5} MiB{}",
            r.name,
            r.what,
            r.result.code.map_or("-".to_string(), |c| c.to_string()),
            r.result.elapsed.as_secs_f64(),
            r.result.max_rss_kib / 1024,
            if r.result.timed_out { " TIMED OUT" } else { "" }
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
