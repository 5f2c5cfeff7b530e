//! Collector faults on the simulated datacenter, beyond those in `collect.rs`: a command deaf to
//! SIGTERM, a failing command with an error body, hostile files in zone roots, an unreadable
//! file, a compute node that never answers, SIGINT mid-run and a full output file system. Each
//! leaves a bundle (or a clear error), and the manifest says what happened.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, Dc, ReadBundle};
use serde_json::json;
use triton_bundle::manifest::{Item, Origin};

/// The collector as on the headnode, optionally started through `wrapper` (e.g. `setpriv ...`).
fn collector(dc: &Dc, wrapper: &[&str], args: &[&str]) -> Command {
    let path = format!(
        "{}:{}",
        dc.dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(common::collect_bin());
            c
        }
        None => Command::new(common::collect_bin()),
    };
    command
        .env("PATH", path)
        .env("TRITON_SIM_DIR", &dc.dir)
        .env(
            "TRITON_COLLECT_MIN_FREE_BYTES",
            triton_test_support::SIM_MIN_FREE,
        )
        .env_remove("TRITON_SIM_HOST")
        .env_remove("TRITON_COLLECT_ROOT")
        .arg("--root")
        .arg(dc.dir.join("hn"))
        .args(args);
    command
}

fn item_for<'a>(bundle: &'a ReadBundle, path_suffix: &str) -> &'a Item {
    bundle
        .manifest
        .items
        .iter()
        .find(|i| matches!(&i.origin, Origin::File { path } if path.ends_with(path_suffix)))
        .unwrap_or_else(|| panic!("no item for {path_suffix}"))
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet), waiting a little.
fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().starts_with('Z')))
            .unwrap_or(false);
        // SAFETY: signal 0 only checks whether the process exists.
        let exists = unsafe { libc::kill(pid, 0) } == 0;
        if !exists || zombie {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_command_ignoring_sigterm_is_killed_with_its_children() {
    let dc = Dc::create();
    let pid_file = dc.out("deaf-child.pid");
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "svcs", "args_contain": "-xv",
            "kind": {"kind": "ignore_term", "seconds": 60,
                     "pid_file": pid_file.to_str().expect("utf8")}}]);
    });
    let out_path = dc.out("deaf.tar.gz");
    let started = Instant::now();
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--command-timeout",
        "2",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    let item = bundle.items("svcs.global")[0];
    assert!(item.timed_out && item.exit_status.is_none(), "{item:?}");
    assert!(item.duration_ms >= 2000, "{item:?}");
    assert!(item
        .error
        .as_deref()
        .is_some_and(|e| e.contains("process group killed")));
    let child: i32 = std::fs::read_to_string(&pid_file)
        .expect("the fake started its child")
        .trim()
        .parse()
        .expect("pid");
    assert!(gone(child), "child {child} of the deaf command still runs");
    assert!(!bundle.manifest.complete);
}

#[test]
fn a_failing_command_keeps_its_error_body_and_is_marked() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "svcs", "args_contain": "-xv",
            "kind": {"kind": "fail", "status": 3, "stdout": "svc:/system/partial:default (partial)\n",
                     "stderr": "svcs: Could not bind to repository server: repository server unavailable."}}]);
    });
    let out_path = dc.out("fail.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    let item = bundle.items("svcs.global")[0];
    assert_eq!(item.exit_status, Some(3), "{item:?}");
    assert!(
        item.error.as_deref().is_some_and(
            |e| e.starts_with("exit 3: ") && e.contains("repository server unavailable")
        ),
        "{item:?}"
    );
    let path = item.path.as_deref().expect("the error body is kept");
    assert_eq!(bundle.text(path), "svc:/system/partial:default (partial)\n");
    assert!(!bundle.manifest.complete);
}

#[test]
fn hostile_files_in_zone_roots_are_refused_without_blocking() {
    let dc = Dc::create();
    // On the CN, in the failed VM's zone: a symlink loop and a FIFO named like qemu logs.
    let tmp = dc
        .dir
        .join("cn")
        .join(dc.cn())
        .join(format!("zones/{}/root/tmp", dc.vm()));
    std::os::unix::fs::symlink("vm.log.7b", tmp.join("vm.log.7")).expect("symlink");
    std::os::unix::fs::symlink("vm.log.7", tmp.join("vm.log.7b")).expect("symlink");
    let fifo =
        std::ffi::CString::new(tmp.join("vm.log.6").to_string_lossy().as_bytes()).expect("c");
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    // On the headnode: a core zone whose rotated-log directory leads out of the zone, and one
    // whose zone root itself is a symlink to the global zone's root.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dc.dir.join("sim/state.json")).expect("state"))
            .expect("json");
    let zone_of = |role: &str| -> String {
        state["headnode"]["vms"]
            .as_array()
            .expect("vms")
            .iter()
            .find(|v| v["tags"]["smartdc_role"] == role)
            .and_then(|v| v["uuid"].as_str())
            .expect("zone")
            .to_string()
    };
    let hn = dc.dir.join("hn");
    std::fs::create_dir_all(hn.join("var/log/escape")).expect("mkdir");
    std::fs::write(
        hn.join("var/log/escape/napi_x_2099.log"),
        "GLOBAL-ZONE-DIR-MARKER\n",
    )
    .expect("write");
    let upload = hn.join(format!(
        "zones/{}/root/var/log/sdc/upload",
        zone_of("imgapi")
    ));
    std::fs::remove_dir_all(&upload).expect("rm upload");
    std::os::unix::fs::symlink("/var/log/escape", &upload).expect("symlink dir");
    let napi_root = hn.join(format!("zones/{}/root", zone_of("napi")));
    std::fs::rename(
        &napi_root,
        hn.join(format!("zones/{}/root.real", zone_of("napi"))),
    )
    .expect("mv");
    std::os::unix::fs::symlink("/", &napi_root).expect("symlink root");

    let out_path = dc.out("hostile.tar.gz");
    let started = Instant::now();
    let out = dc.collect(&["--vm", &dc.vm(), "--out", out_path.to_str().expect("utf8")]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    assert!(!bundle.contains_anywhere("GLOBAL-ZONE-DIR-MARKER"));

    let lp = item_for(&bundle, "vm.log.7");
    assert!(
        lp.path.is_none()
            && lp
                .error
                .as_deref()
                .is_some_and(|e| e.contains("too many levels of symlinks")),
        "{lp:?}"
    );
    let fifo = item_for(&bundle, "vm.log.6");
    assert!(fifo.path.is_none(), "{fifo:?}");
    assert!(
        fifo.error.as_deref().is_some_and(|e| e.contains("fifo")),
        "{fifo:?}"
    );

    let imgapi: Vec<&Item> = bundle.items("imgapi.log");
    assert!(
        imgapi.iter().any(|i| i
            .error
            .as_deref()
            .is_some_and(|e| e.contains("outside the zone root"))),
        "{imgapi:#?}"
    );
    let napi: Vec<&Item> = bundle.items("napi.log");
    assert!(
        !napi.is_empty() && napi.iter().all(|i| i.path.is_none()),
        "{napi:#?}"
    );
    assert!(
        napi.iter().any(|i| i
            .error
            .as_deref()
            .is_some_and(|e| e.contains("outside the zone root"))),
        "{napi:#?}"
    );
    // The rest is still collected.
    assert!(bundle.entries.contains_key(&format!(
        "hosts/{}/files/zones/{}/root/tmp/vm.log",
        dc.cn(),
        dc.vm()
    )));
    assert!(bundle
        .entries
        .keys()
        .any(|p| p.ends_with("smartdc-site-imgapi:default.log")));
}

/// Runs `setpriv` to take away root's power to read any file, when that is what is needed.
fn without_read_override() -> Option<Vec<&'static str>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(Vec::new());
    }
    let setpriv = Command::new("setpriv").arg("--version").output().ok()?;
    setpriv.status.success().then(|| {
        vec![
            "setpriv",
            "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search",
        ]
    })
}

#[test]
fn an_unreadable_file_is_recorded_and_the_rest_collected() {
    let Some(wrapper) = without_read_override() else {
        eprintln!("skipped: running as root without setpriv, so permissions cannot stop a read");
        return;
    };
    let dc = Dc::create();
    let config = dc.dir.join("hn/usbkey/config");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let out_path = dc.out("unreadable.tar.gz");
    let out = collector(
        &dc,
        &wrapper,
        &[
            "--vm",
            &dc.vm(),
            "--cn",
            "none",
            "--out",
            out_path.to_str().expect("utf8"),
        ],
    )
    .output()
    .expect("run");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod back");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    let item = bundle.items("usbkey.config")[0];
    assert!(item.path.is_none(), "{item:?}");
    assert!(
        item.error
            .as_deref()
            .is_some_and(|e| e.contains("/usbkey/config") && e.contains("ermission denied")),
        "{item:?}"
    );
    assert!(!bundle.manifest.complete);
    assert!(bundle
        .entries
        .contains_key(&format!("api/workflow/jobs/{}.json", dc.job())));
}

#[test]
fn a_compute_node_that_never_answers_is_given_up_at_the_deadline() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "sdc-oneachnode", "args_contain": dc.cn(),
            "kind": {"kind": "hang", "seconds": 300}}]);
    });
    let out_path = dc.out("silent-cn.tar.gz");
    let started = Instant::now();
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--deadline",
        "15",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let bundle = ReadBundle::open(&out_path);
    assert!(!bundle.manifest.complete);
    let host = bundle
        .manifest
        .hosts
        .iter()
        .find(|h| h.server_uuid == dc.cn())
        .expect("CN recorded");
    assert!(host.error.is_some(), "{host:?}");
    assert!(bundle
        .entries
        .contains_key(&format!("api/workflow/jobs/{}.json", dc.job())));
    assert!(!bundle
        .entries
        .keys()
        .any(|p| p.starts_with(&format!("hosts/{}/", dc.cn()))));
}

#[test]
fn sigint_mid_run_leaves_a_bundle_marked_incomplete() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] =
            json!([{"command": "svcs", "kind": {"kind": "hang", "seconds": 60}}]);
    });
    let out_path = dc.out("sigint.tar.gz");
    let mut child = collector(
        &dc,
        &[],
        &[
            "--vm",
            &dc.vm(),
            "--cn",
            "none",
            "--out",
            out_path.to_str().expect("utf8"),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn");
    let started = Instant::now();
    let lines = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut text = String::new();
    // Only the first lines are read: the collector then writes to a stderr nobody reads, which
    // must not stop it either.
    for line in lines.lines().map_while(Result::ok) {
        text.push_str(&line);
        text.push('\n');
        if line.contains("[1/") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending SIGINT to the child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let bundle = ReadBundle::open(&out_path);
    assert!(!bundle.manifest.complete);
    assert!(
        bundle
            .manifest
            .notes
            .iter()
            .any(|n| n.contains("interrupted")),
        "{:?}",
        bundle.manifest.notes
    );
    let svcs = bundle.items("svcs.global")[0];
    assert!(
        svcs.error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted")),
        "{svcs:?}"
    );
    assert!(
        bundle.manifest.items.iter().any(|i| i
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("not collected: interrupted"))),
        "sources after the signal are recorded as not collected"
    );
}

/// A 2 MiB tmpfs at `dir`, unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(dir: &Path) -> Option<SmallFs> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then(|| SmallFs(dir.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_output_file_system_leaves_no_half_written_bundle() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let dc = Dc::create();
    let Some(fs) = SmallFs::mount(&dc.out("small-fs")) else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    // `svcs` hangs for 3 s: while it does, the file system is filled to the last byte by another
    // writer, so the bundle's next writes fail with ENOSPC.
    dc.edit_state(|state| {
        state["headnode"]["faults"] =
            json!([{"command": "svcs", "kind": {"kind": "hang", "seconds": 3}}]);
    });
    let out_path = fs.0.join("b.tar.gz");
    let mut child = collector(
        &dc,
        &[],
        &[
            "--vm",
            &dc.vm(),
            "--cn",
            "none",
            "--out",
            out_path.to_str().expect("utf8"),
        ],
    )
    // The production reserve (5% of the 2 MiB), not the simulated datacenter's.
    .env_remove("TRITON_COLLECT_MIN_FREE_BYTES")
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn");
    let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut text = String::new();
    for line in lines.by_ref().map_while(Result::ok) {
        text.push_str(&line);
        text.push('\n');
        if line.contains("[1/") {
            break;
        }
    }
    let filler = fs.0.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![b'x'; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    for line in lines.map_while(Result::ok) {
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait().expect("wait");
    let names: Vec<String> = std::fs::read_dir(&fs.0)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "filler")
        .collect();
    match status.code() {
        Some(3) => {
            assert!(names.is_empty(), "left behind: {names:?}");
            assert!(text.contains("no bundle was written"), "{text}");
            assert!(
                text.contains("No space left on device"),
                "the message names the cause: {text}"
            );
            assert!(
                text.contains("not collected: writing the bundle failed")
                    || text.contains("[14/14]"),
                "{text}"
            );
        }
        Some(1) => {
            // The guard saw it coming and finished a smaller bundle within what was left.
            let bundle = ReadBundle::open(&out_path);
            assert!(!bundle.manifest.complete);
            assert!(
                bundle.manifest.notes.iter().any(|n| n.contains("space")),
                "{:?}",
                bundle.manifest.notes
            );
            assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
        }
        other => panic!("exit {other:?}: {text}"),
    }
}
