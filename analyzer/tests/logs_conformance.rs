//! `triton-analyze logs` prints what the bunyan CLI (1.8.15) prints: the conformance corpus (see
//! `triton_logs::conformance`) run through the real binary, as an engineer calls it.

use std::path::Path;

use triton_logs::conformance;

#[test]
fn triton_analyze_logs_matches_the_bunyan_cli() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = conformance::corpus_dir(&workspace);
    if !conformance::corpus_present(&dir) {
        println!(
            "skipped: bunyan conformance corpus not found at {}",
            dir.display()
        );
        return;
    }
    let program = Path::new(env!("CARGO_BIN_EXE_triton-analyze"));
    match conformance::check_all(&dir, program, &["logs"]) {
        Ok(cases) => println!("triton-analyze logs: all {cases} bunyan conformance cases pass"),
        Err(failures) => panic!(
            "triton-analyze logs differs from the bunyan CLI:\n{}",
            failures.join("\n")
        ),
    }
}
