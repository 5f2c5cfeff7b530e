//! `completions`, `man` and `--version` come from the same clap definitions as `--help`.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_triton-analyze"))
        .args(args)
        .output()
        .expect("run triton-analyze");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_cover_the_report_and_the_log_view() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {err}");
        // Fish spells options `-l explain`; bash and zsh `--explain`.
        for option in ["explain", "format", "logs", "req-id", "since"] {
            assert!(out.contains(option), "{shell} completion lacks {option}");
        }
    }
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown shell"), "{err}");
}

#[test]
fn man_page_documents_both_commands() {
    let (code, out, _) = run(&["man"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(".TH triton-analyze 1"),
        "{}",
        &out[..out.len().min(300)]
    );
    assert!(out.contains(".TH triton-analyze-logs 1"));
    assert!(out.contains("\\-\\-explain") && out.contains("\\-\\-req\\-id"));
}

#[test]
fn version_names_the_bundle_format() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    let expected = format!(
        "triton-analyze {} (bundle format {})",
        env!("CARGO_PKG_VERSION"),
        triton_bundle::format::current_version()
    );
    assert_eq!(out.trim(), expected);
}
