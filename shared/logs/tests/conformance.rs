//! Byte-for-byte conformance with the bunyan CLI (1.8.15) on node-bunyan's public test corpus
//! (see `triton_logs::conformance`): every case runs `triton-logs --no-color OPTIONS FILE` and
//! must print the same stdout and exit with the same code.

use std::path::Path;

use triton_logs::conformance;

#[test]
fn bunyan_cli_conformance() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = conformance::corpus_dir(&workspace);
    if !conformance::corpus_present(&dir) {
        println!("skipped: conformance corpus not found at {}", dir.display());
        return;
    }
    let program = Path::new(env!("CARGO_BIN_EXE_triton-logs"));
    match conformance::check_all(&dir, program, &[]) {
        Ok(cases) => println!("bunyan conformance: all {cases} cases pass"),
        Err(failures) => panic!("bunyan conformance failures:\n{}", failures.join("\n")),
    }
}
