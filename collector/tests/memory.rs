//! Memory of the real binary while it stores one big command output: the output is held once;
//! its redacted copy streams into the bundle instead of being built whole beside it.
//!
//! Alone in its own test binary, because it reads the peak memory of this process's children.

mod common;

use std::process::Command;

const MIB: u64 = 1 << 20;
/// The command output stored (below the default per-file cap of 64 MiB).
const OUTPUT: u64 = 24 * MIB;

/// Peak resident memory of the largest child waited for so far, in bytes.
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage writes into a zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    // Linux reports kilobytes (macOS bytes; this test runs where the collector is developed).
    usage.ru_maxrss as u64 * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn a_big_output_is_held_once_while_it_is_redacted_and_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::fs::create_dir(tmp.path().join("root")).expect("mkdir");
    let write = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    write(
        "sysinfo",
        r#"printf '{"UUID":"564d0d6e-0000-4000-8000-000000000002","Hostname":"cn-mem"}\n'"#,
    );
    // `zfs list -t all`: 24 MiB of lines, one in a thousand with a secret to redact.
    write(
        "zfs",
        &format!(
            "awk 'BEGIN {{ for (i = 0; ; i++) {{ if (i % 1000 == 0) print \"password=x\"; \
             else print \"zones/4f3c0d3e-1c0b-4c5d-8a3e-0b1e2f3a4b5c@snap-\" i \" 1G 2G 3G -\" }} }}' \
             | head -c {OUTPUT}"
        ),
    );
    let out_path = tmp.path().join("b.tar.gz");
    let before = children_peak_rss();
    let out = Command::new(common::collect_bin())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env_remove("TRITON_COLLECT_ROOT")
        .env(
            "TRITON_COLLECT_MIN_FREE_BYTES",
            triton_test_support::SIM_MIN_FREE,
        )
        .arg("--root")
        .arg(tmp.path().join("root"))
        .arg("--out")
        .arg(&out_path)
        .output()
        .expect("run triton-collect");
    let peak = children_peak_rss();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        common::stderr(&out)
    );
    let bundle = common::ReadBundle::open(&out_path);
    let zfs = bundle.items("zfs.list")[0];
    assert_eq!(zfs.original_bytes, Some(OUTPUT), "{zfs:?}");
    assert!(zfs.redactions.values().sum::<u64>() > 300, "{zfs:?}");
    assert!(peak > before, "the collector is the largest child so far");
    // Held once plus the program and its buffers (measured: 34 MiB in a debug build, 30 MiB
    // in release); holding a clone and a whole redacted copy beside it, as the collector did
    // before, took three times the output (77 MiB in release).
    assert!(
        peak < 2 * OUTPUT,
        "peak {} MiB for a {} MiB output",
        peak / MIB,
        OUTPUT / MIB
    );
    eprintln!(
        "peak resident memory: {} MiB for a {} MiB output",
        peak / MIB,
        OUTPUT / MIB
    );
}
