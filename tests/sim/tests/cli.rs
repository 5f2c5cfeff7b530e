//! The binary: `list`, `create`, `info`.

use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_triton-sim");

#[test]
fn list_create_info() {
    let list = Command::new(EXE).arg("list").output().unwrap();
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with("kvm-qemu-out-of-memory"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dc");
    let create = Command::new(EXE)
        .args([
            "create",
            "--scenario",
            "kvm-qemu-out-of-memory",
            "--seed",
            "4",
            "--no-fakes",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    assert!(out.join("expected.json").is_file());
    assert!(out.join("sim/state.json").is_file());

    let info = Command::new(EXE).arg("info").arg(&out).output().unwrap();
    assert!(info.status.success());
    let text = String::from_utf8_lossy(&info.stdout);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("expected.json")).unwrap()).unwrap();
    let vm = expected["provisions"][0]["vm_uuid"].as_str().unwrap();
    assert!(text.contains(&format!("triton-collect --vm {vm}")));
    assert!(text.contains(expected["provisions"][0]["job_uuid"].as_str().unwrap()));

    let bad = Command::new(EXE)
        .args(["create", "--scenario", "no-such", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scenario"));
}
