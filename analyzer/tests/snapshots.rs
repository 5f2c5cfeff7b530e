//! Snapshots of the markdown report for simulated-datacenter scenarios, read as a customer's
//! hand-made input (the host trees plus attached command output). The simulator is seeded, so
//! the report is the same on every run; the inputs are passed as directories named `cn`, `hn`
//! and `attached`, so no temporary path reaches the report.

mod common;
mod scenario;

use common::*;
use scenario::{attach, create};

fn markdown_of(scenario: &str) -> String {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dc");
    let expected = create(scenario, &dir);
    let attached = tmp.path().join("attached");
    attach(&dir, &expected, &attached);
    let out = run_paths(&[], &[&dir.join("cn"), &dir.join("hn"), &attached]);
    assert_eq!(out.status.code(), Some(0), "{scenario}: {}", stderr(&out));
    let md = stdout(&out);
    let tmp_path = tmp.path().to_string_lossy().into_owned();
    assert!(
        !md.contains(&tmp_path),
        "{scenario}: the report names the temporary directory {tmp_path}"
    );
    md
}

fn check(scenario: &str) {
    let md = markdown_of(scenario);
    insta::assert_snapshot!(scenario, md);
}

#[test]
fn kvm_qemu_out_of_memory() {
    check("kvm-qemu-out-of-memory");
}

#[test]
fn zone_setup_failed_destroyed() {
    check("zone-setup-failed-destroyed");
}

#[test]
fn no_allocatable_servers() {
    check("no-allocatable-servers");
}
