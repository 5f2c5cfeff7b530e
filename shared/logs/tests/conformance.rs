//! Byte-for-byte conformance with the bunyan CLI (1.8.15) on node-bunyan's public test corpus
//! (see `triton_logs::conformance`): every case runs `triton-logs --no-color OPTIONS FILE` and
//! must print the same stdout and exit with the same code.

use std::path::Path;

use triton_logs::conformance;

fn check_conformance(prefix: &[&str]) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = conformance::corpus_dir(&workspace);
    if !conformance::corpus_present(&dir) {
        println!("skipped: conformance corpus not found at {}", dir.display());
        return;
    }
    let program = Path::new(env!("CARGO_BIN_EXE_triton-logs"));
    match conformance::check_all(&dir, program, prefix) {
        Ok(cases) => println!("bunyan conformance {prefix:?}: all {cases} cases pass"),
        Err(failures) => panic!(
            "bunyan conformance failures {prefix:?}:\n{}",
            failures.join("\n")
        ),
    }
}

/// The sequential reader.
#[test]
fn bunyan_cli_conformance() {
    check_conformance(&["--threads", "1"]);
}

/// The multi-threaded path with one line per batch, so every line crosses a batch boundary.
#[test]
fn bunyan_cli_conformance_in_parallel_batches() {
    check_conformance(&["--threads", "3", "--batch-bytes", "1"]);
}

/// The scalar JSON validator (the default is the fastest one the CPU runs).
#[test]
fn bunyan_cli_conformance_with_the_scalar_validator() {
    check_conformance(&["--threads", "1", "--json-validator", "scalar"]);
}

/// The SSE2 JSON validator, which x86-64 CPUs without AVX2 run.
#[cfg(target_arch = "x86_64")]
#[test]
fn bunyan_cli_conformance_with_the_sse2_validator() {
    check_conformance(&["--threads", "1", "--json-validator", "sse2"]);
}
