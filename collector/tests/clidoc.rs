//! `completions`, `man` and `--version` come from the same clap definitions as `--help`.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_triton-collect"))
        .args(args)
        .output()
        .expect("run triton-collect");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn completions_and_man_page_list_the_options() {
    let (code, out) = run(&["completions", "bash"]);
    assert_eq!(code, Some(0));
    for option in ["--vm", "--job", "--deadline", "--no-redact", "--upload"] {
        assert!(out.contains(option), "bash completion lacks {option}");
    }
    let (code, out) = run(&["man"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(".TH triton-collect 1"));
    assert!(out.contains("\\-\\-dry\\-run"));
    assert!(
        out.contains("bundle written but incomplete"),
        "exit codes belong in the man page"
    );
}

#[test]
fn version_names_the_bundle_format() {
    let (code, out) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(
        out.trim().ends_with(&format!(
            "(bundle format {})",
            triton_bundle::format::current_version()
        )),
        "{out}"
    );
}
