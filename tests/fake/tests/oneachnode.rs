//! `sdc-oneachnode` through the real binary: chroot-style path rewriting, formats, exit codes,
//! file transfer and timeouts.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

#[test]
fn command_reads_the_nodes_files_and_prints_the_one_line_table() {
    let dc = Dc::new();
    let out = dc.run("sdc-oneachnode", &["-n", "cn1", "cat /etc/motd"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Every node printed at most one line, so the one-line table is used (`%-20s  %s`).
    assert_eq!(
        stdout(&out),
        format!(
            "{:<20}  {}\n{:<20}  {}\n",
            "HOSTNAME", "STATUS", "cn1", "SmartOS (build: 20240118T000000Z)"
        )
    );
}

#[test]
fn multi_line_output_blocks_sorted_by_hostname() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-oneachnode",
        &["-a", "cat /etc/motd; echo second line"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let expected = format!(
        "=== Output from {CN1} (cn1):\nSmartOS (build: 20240118T000000Z)\nsecond line\n\n=== Output from {HN} (headnode):\nheadnode motd\nsecond line\n\n"
    );
    assert_eq!(
        text, expected,
        "cn2 is unreachable and silently absent with -a"
    );
}

#[test]
fn json_results_and_node_environment() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-oneachnode",
        &[
            "-j",
            "-n",
            CN1,
            "zonename; echo $TRITON_SIM_HOST; ls /var/log/vm/logs; exit 3",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "a non-zero exit status is a result, not an execution failure"
    );
    let text = stdout(&out);
    assert!(
        text.ends_with("]\n") && !text.contains("\n  "),
        "one compact line: {text}"
    );
    let results: Value = serde_json::from_str(&text).unwrap();
    let r = &results[0];
    assert_eq!(r["uuid"], CN1);
    assert_eq!(r["hostname"], "cn1");
    assert_eq!(r["result"]["exit_status"], 3);
    assert_eq!(
        r["result"]["stdout"],
        format!("global\n{CN1}\n1705575600000-012345-create.log\n")
    );
    assert_eq!(r["result"]["stderr"], "");
}

#[test]
fn node_paths_in_output_read_as_on_the_node() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-oneachnode",
        &["-j", "-n", "cn1", "ls /nonexistent; ls -d /var/tmp"],
        None,
    );
    let results: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(results[0]["result"]["stdout"], "/var/tmp\n");
    let err = results[0]["result"]["stderr"].as_str().unwrap();
    assert!(
        err.contains("/nonexistent") && !err.contains(dc.dir().to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn fake_commands_answer_as_the_node() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-oneachnode",
        &[
            "-j",
            "-n",
            "cn1",
            &format!("/usr/sbin/vmadm get {VM} | head -2; zfs list -H -o name -t snapshot"),
        ],
        None,
    );
    let results: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let text = results[0]["result"]["stdout"].as_str().unwrap();
    assert_eq!(
        text,
        format!("{{\n  \"uuid\": \"{VM}\",\nzones/{KVM_IMAGE}@final\n")
    );
}

#[test]
fn flag_values_and_redirections_are_rewritten() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-oneachnode",
        &[
            "-n",
            "cn1",
            "cp --target-directory=/var/tmp /etc/motd && echo done >/var/tmp/flag 2>/dev/null",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dc.cn_path("/var/tmp/motd")).unwrap(),
        "SmartOS (build: 20240118T000000Z)\n"
    );
    assert_eq!(
        std::fs::read_to_string(dc.cn_path("/var/tmp/flag")).unwrap(),
        "done\n"
    );
}

#[test]
fn missing_or_unreachable_nodes_exit_10_with_no_output() {
    let dc = Dc::new();
    for nodes in ["cn1,cn2", "nosuchnode"] {
        let out = dc.run("sdc-oneachnode", &["-n", nodes, "hostname"], None);
        assert_eq!(out.status.code(), Some(10), "{nodes}");
        assert!(out.stdout.is_empty(), "{nodes}");
        let missing = if nodes == "cn1,cn2" {
            "cn2"
        } else {
            "nosuchnode"
        };
        assert_eq!(
            stderr(&out),
            format!("ERROR: could not find all nodes\n\n  missing nodes:\n    {missing}\n")
        );
    }
}

#[test]
fn option_errors_exit_2() {
    let dc = Dc::new();
    for args in [
        vec!["hostname"],
        vec!["-a", "-c", "hostname"],
        vec!["-n", "cn1", "a", "b"],
        vec!["-n", "cn1", "-g", "/x", "-p", "/y", "-d", "/z"],
    ] {
        let out = dc.run("sdc-oneachnode", &args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).starts_with("ERROR: ") && stderr(&out).contains("Usage: sdc-oneachnode"),
            "{args:?}"
        );
    }
    let out = dc.run("sdc-oneachnode", &["-h"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("Usage: sdc-oneachnode"));
}

#[test]
fn get_copies_a_local_file_into_the_node() {
    let dc = Dc::new();
    let local = dc.dir().join("collector-build");
    std::fs::write(&local, "#!/bin/sh\necho collected\n").unwrap();
    let local_arg = local.to_str().unwrap();
    let out = dc.run(
        "sdc-oneachnode",
        &["-n", "cn1", "-g", local_arg, "-d", "/var/tmp"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{:<20}  STATUS\n{:<20}  ok\n", "HOSTNAME", "cn1")
    );
    assert_eq!(
        std::fs::read_to_string(dc.cn_path("/var/tmp/collector-build")).unwrap(),
        "#!/bin/sh\necho collected\n"
    );

    // Second copy without -X: the node refuses; with -X it overwrites.
    let out = dc.run(
        "sdc-oneachnode",
        &["-n", "cn1", "-g", local_arg, "-d", "/var/tmp"],
        None,
    );
    assert_eq!(out.status.code(), Some(20));
    assert!(stdout(&out).contains("<ERROR: file exists already>"));
    assert!(stderr(&out).contains("ERROR: execution failed on some nodes"));
    let out = dc.run(
        "sdc-oneachnode",
        &["-X", "-n", "cn1", "-g", local_arg, "-d", "/var/tmp"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    // A directory the node does not have.
    let out = dc.run(
        "sdc-oneachnode",
        &["-n", "cn1", "-g", local_arg, "-d", "/no/such/dir"],
        None,
    );
    assert_eq!(out.status.code(), Some(20));
    assert!(stdout(&out).contains("<ERROR: target is not a directory>"));
}

#[test]
fn put_copies_the_nodes_file_here_named_by_node_uuid() {
    let dc = Dc::new();
    let local_dir = dc.dir().join("incoming");
    std::fs::create_dir(&local_dir).unwrap();
    let dir_arg = local_dir.to_str().unwrap();
    let out = dc.run(
        "sdc-oneachnode",
        &[
            "-j",
            "-n",
            "cn1",
            "-p",
            &format!("/zones/{VM}/root/tmp/vm.log"),
            "-d",
            dir_arg,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(results[0]["result"]["stdout"], "ok");
    let copied = std::fs::read_to_string(local_dir.join(CN1)).unwrap();
    assert!(copied.contains("Failed to allocate memory"));

    let out = dc.run(
        "sdc-oneachnode",
        &["-n", "cn1", "-p", "/no/such/file", "-d", dir_arg],
        None,
    );
    assert_eq!(out.status.code(), Some(20));
    assert!(stdout(&out).contains("<ERROR: file does not exist>"));

    let out = dc.run(
        "sdc-oneachnode",
        &["-n", "cn1", "-p", "/etc/motd", "-d", "/no/such/local/dir"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn exec_timeout_kills_a_hung_command() {
    let dc = Dc::with(|s| {
        s.compute_nodes[0].faults.push(triton_fake::state::Fault {
            command: "zpool".into(),
            args_contain: "history".into(),
            kind: triton_fake::state::FaultKind::Hang { seconds: 30 },
        });
    });
    let started = Instant::now();
    let out = dc.run(
        "sdc-oneachnode",
        &["-T", "1", "-n", "cn1", "zpool history | cat"],
        None,
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(out.status.code(), Some(20));
    assert_eq!(
        stdout(&out),
        format!(
            "{:<20}  STATUS\n{:<20}  <ERROR: timeout for host {CN1}>\n",
            "HOSTNAME", "cn1"
        )
    );
    assert_eq!(
        stderr(&out),
        "ERROR: execution failed on some nodes\n\n  execution failed on nodes:\n    cn1\n"
    );
}

#[test]
fn list_only_and_compute_only() {
    let dc = Dc::new();
    let out = dc.run("sdc-oneachnode", &["-c", "-l"], None);
    assert_eq!(
        stdout(&out),
        format!("{:<36}  HOSTNAME\n{CN1}  cn1\n", "UUID")
    );
    let out = dc.run("sdc-oneachnode", &["-a", "-N", "printf 'x\\ny\\n'"], None);
    assert_eq!(
        stdout(&out),
        format!(
            "{:<20}  STATUS\n{:<20}  y\n{:<20}  y\n",
            "HOSTNAME", "cn1", "headnode"
        )
    );
}
