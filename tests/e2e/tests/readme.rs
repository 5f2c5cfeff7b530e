//! The README shows an excerpt of the demo's report; it must stay what the tools really print.

mod common;

use std::process::Command;

use triton_test_support::{assert_success, run, workspace_bin};

/// The lines of the README's ````markdown excerpt that carry content (table rows, the verdict,
/// evidence and excerpt lines), skipping headings and blank lines.
fn readme_excerpt() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let start = readme
        .find("````markdown\n")
        .expect("README has a ````markdown excerpt");
    let body = &readme[start + "````markdown\n".len()..];
    let end = body.find("\n````").expect("the excerpt is closed");
    body[..end]
        .lines()
        .filter(|line| {
            !line.trim().is_empty() && !line.starts_with('#') && !line.starts_with("```")
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_report_excerpt_matches_the_demo() {
    let work = tempfile::tempdir().expect("tempdir");
    let dc = work.path().join("dc");
    let expected = common::create_datacenter("kvm-qemu-out-of-memory", &dc);
    let vm = expected["provisions"][0]["vm_uuid"]
        .as_str()
        .expect("vm_uuid");
    // The demo names its bundle bundle.tar.gz; the report quotes the input's file name.
    let bundle = work.path().join("bundle.tar.gz");
    let output = common::collect(&dc, &["--vm", vm], &bundle);
    assert!(
        bundle.exists(),
        "no bundle: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = run(Command::new(workspace_bin("triton-analyze")).arg(&bundle));
    assert_success("triton-analyze", &output);
    let report = String::from_utf8_lossy(&output.stdout);
    let excerpt = readme_excerpt();
    assert!(excerpt.len() >= 5, "README excerpt too short: {excerpt:?}");
    let missing: Vec<&String> = excerpt
        .iter()
        .filter(|line| !report.lines().any(|got| got == line.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README report excerpt lines not in the demo's report (update the README):\n{}",
        missing
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
