//! Host faults (hang, flood, fail) and a closed stdout, through the real binary.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use triton_fake::state::{Fault, FaultKind};

fn fault(command: &str, args_contain: &str, kind: FaultKind) -> Fault {
    Fault {
        command: command.into(),
        args_contain: args_contain.into(),
        kind,
    }
}

#[test]
fn fail_fault_replaces_the_answer_only_for_matching_args() {
    let dc = Dc::with(|s| {
        let stderr = "internal error: Bad file number".to_string();
        s.compute_nodes[0].faults.push(fault(
            "zpool",
            "history",
            FaultKind::Fail {
                status: 1,
                stdout: String::new(),
                stderr,
            },
        ));
    });
    let out = dc.run("zpool", &["history"], Some(CN1));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(stderr(&out), "internal error: Bad file number\n");
    // Other arguments, other hosts: normal answers.
    assert_eq!(
        dc.run("zpool", &["status"], Some(CN1)).status.code(),
        Some(0)
    );
    assert_eq!(dc.run("zpool", &["history"], None).status.code(), Some(0));
}

#[test]
fn fail_fault_can_print_an_error_body() {
    let dc = Dc::with(|s| {
        s.headnode.faults.push(fault(
            "svcs",
            "",
            FaultKind::Fail {
                status: 3,
                stdout: "partial listing\n".into(),
                stderr: "svcs: repository unavailable".into(),
            },
        ));
    });
    let out = dc.run("svcs", &["-xv"], None);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "partial listing\n");
    assert_eq!(stderr(&out), "svcs: repository unavailable\n");
}

#[test]
fn ignore_term_fault_survives_sigterm_with_its_child() {
    let dc = Dc::with(|s| {
        s.headnode.faults.push(fault(
            "zpool",
            "",
            FaultKind::IgnoreTerm {
                seconds: 3,
                pid_file: None,
            },
        ));
    });
    let mut child = Command::new(exe())
        .args(["zpool", "status"])
        .env("TRITON_SIM_DIR", dc.dir())
        .env_remove("TRITON_SIM_HOST")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending SIGTERM to the child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "SIGTERM was not ignored"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn hang_fault_delays_then_answers() {
    let dc = Dc::with(|s| {
        s.headnode
            .faults
            .push(fault("sdc-vmapi", "/ping", FaultKind::Hang { seconds: 1 }))
    });
    let started = Instant::now();
    let out = dc.run("sdc-vmapi", &["/ping"], None);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn flood_fault_writes_until_the_reader_leaves() {
    let dc = Dc::with(|s| {
        s.compute_nodes[0]
            .faults
            .push(fault("svcs", "", FaultKind::Flood))
    });
    let mut child = Command::new(exe())
        .arg("svcs")
        .env("TRITON_SIM_DIR", dc.dir())
        .env("TRITON_SIM_HOST", CN1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    while total < buf.len() {
        total += stdout.read(&mut buf[total..]).unwrap();
    }
    assert!(String::from_utf8_lossy(&buf[..200]).starts_with("STATE          STIME    FMRI\n"));
    drop(stdout);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.is_empty(), "ends quietly, no panic: {err}");
    assert!(!status.success());
}

#[test]
fn closed_stdout_ends_quietly() {
    let dc = Dc::new();
    let out = dc.sh(&format!("sdc-workflow /jobs/{JOB} | head -c 10"));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("HTTP/1.1 2"));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    let mut child = Command::new(exe())
        .args(["zfs", "list", "-t", "all"])
        .env("TRITON_SIM_DIR", dc.dir())
        .env("TRITON_SIM_HOST", CN1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn unknown_sim_host_and_missing_state_are_reported() {
    let dc = Dc::new();
    let out = dc.run("zfs", &["list"], Some("no-such-host"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("TRITON_SIM_HOST=no-such-host"));
    let out = Command::new(exe())
        .args(["zfs", "list"])
        .env("TRITON_SIM_DIR", dc.dir().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sim/state.json"));
}
