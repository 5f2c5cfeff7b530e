//! Every simulated-datacenter scenario, analyzed as a customer's hand-made input (no manifest),
//! three ways, from one datacenter per scenario:
//!
//! 1. directories: the raw host trees (`DIR/cn/<uuid>`, `DIR/hn`, files at their original
//!    absolute paths) plus what a customer attaches by hand: the job(s) and the output of
//!    `zfs list -t all`, `zpool history`, `imgadm get` and `svcs -xv` run on the CN;
//! 2. one tarball per host of its files at their original absolute paths (as `tar czf` run on
//!    that host from `/` stores them: `zones/...`, `var/...`, no host in any path), the job files
//!    in the headnode's and the CN's command output in the CN's;
//! 3. one tarball of renamed loose files: every file of every host flattened to a name a
//!    customer would give it (`vmapi.log`, `vm.log`, `machine_create.log`), the jobs as
//!    `job.json`, the command output as `zfs-list.txt`, `zpool-history.txt`, ...
//!
//! Each must give `expected.json`'s diagnosis and failed task; the first two must also cite
//! every expected file evidence at its original path and line.

mod common;
mod scenario;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use common::*;
use scenario::{attach, create, fake, scenarios};

/// Diagnosis and failed task of every expected provision.
fn check_diagnosis(scenario: &str, expected: &Value, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = Vec::new();
    for want in expected["provisions"].as_array().unwrap_or(&empty) {
        let got = report["provisions"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|p| p["vm_uuid"] == want["vm_uuid"] && p["job_uuid"] == want["job_uuid"]);
        let Some(got) = got else {
            problems.push(format!(
                "{scenario}: no provision for vm {} job {}",
                want["vm_uuid"], want["job_uuid"]
            ));
            continue;
        };
        if got["diagnosis"]["key"] != want["diagnosis"] {
            problems.push(format!(
                "{scenario}: diagnosis {} (want {})",
                got["diagnosis"]["key"], want["diagnosis"]
            ));
        }
        if got["failed_task"] != want["failed_task"] {
            problems.push(format!(
                "{scenario}: failed task {} (want {})",
                got["failed_task"], want["failed_task"]
            ));
        }
    }
    problems
}

/// [`check_diagnosis`], and every expected file evidence cited at its original path and line.
fn check(scenario: &str, expected: &Value, report: &Value) -> Vec<String> {
    let mut problems = check_diagnosis(scenario, expected, report);
    let empty = Vec::new();
    for want in expected["provisions"].as_array().unwrap_or(&empty) {
        let Some(got) = report["provisions"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|p| p["vm_uuid"] == want["vm_uuid"] && p["job_uuid"] == want["job_uuid"])
        else {
            continue;
        };
        let cited: Vec<(String, u64)> = report["findings"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter(|f| f["provision"] == got["id"])
            .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| {
                Some((
                    e["place"]["host_path"].as_str()?.to_string(),
                    e["line"].as_u64()?,
                ))
            })
            .collect();
        for ev in want["evidence"].as_array().unwrap_or(&empty) {
            let (Some(path), Some(line)) = (ev["path"].as_str(), ev["line"].as_u64()) else {
                continue;
            };
            if !cited.iter().any(|(p, l)| p == path && *l == line) {
                problems.push(format!(
                    "{scenario}: evidence {path}:{line} ({}) not cited",
                    ev["contains"]
                ));
            }
        }
    }
    problems
}

/// Appends `root`'s tree as `tar czf` run from `root` stores it (relative paths, symbolic links
/// kept as links).
fn append_tree(tar: &mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>, root: &Path) {
    for entry in std::fs::read_dir(root).expect("list").flatten() {
        let name = entry.file_name();
        let path = entry.path();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            tar.append_dir_all(&name, &path).expect("append dir");
        } else {
            tar.append_path_with_name(&path, &name).expect("append");
        }
    }
}

fn new_tarball(path: &Path) -> tar::Builder<flate2::write::GzEncoder<std::fs::File>> {
    let file = std::fs::File::create(path).expect("create tarball");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    tar.follow_symlinks(false);
    tar
}

fn finish(tar: tar::Builder<flate2::write::GzEncoder<std::fs::File>>) {
    tar.into_inner().expect("tar").finish().expect("gzip");
}

/// Input 2: one tarball per host at original paths; the attached job files go with the
/// headnode's, the command output with the provision's CN.
fn host_tarballs(dc: &Path, expected: &Value, attached: &Path, out: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(out).expect("mkdir");
    let server = expected["provisions"][0]["server_uuid"].as_str();
    let mut tarballs = Vec::new();
    let mut hosts = vec![(dc.join("hn"), "headnode".to_string(), None)];
    for (i, cn) in std::fs::read_dir(dc.join("cn"))
        .expect("cn")
        .flatten()
        .enumerate()
    {
        let uuid = cn.file_name().to_string_lossy().into_owned();
        hosts.push((cn.path(), format!("cn{i}"), Some(uuid)));
    }
    for (root, name, uuid) in hosts {
        let path = out.join(format!("{name}-files.tar.gz"));
        let mut tar = new_tarball(&path);
        append_tree(&mut tar, &root);
        for file in std::fs::read_dir(attached).expect("attached").flatten() {
            let file_name = file.file_name().to_string_lossy().into_owned();
            let is_job = file_name.starts_with("job");
            let here = if is_job || server.is_none() {
                uuid.is_none()
            } else {
                uuid.as_deref() == server
            };
            if here {
                tar.append_path_with_name(file.path(), &file_name)
                    .expect("append");
            }
        }
        finish(tar);
        tarballs.push(path);
    }
    tarballs
}

/// What a customer would call a file they copied off a host: its service or task, without
/// directories, uuids, rotation stamps or SMF decoration (`vmapi.log`, `cn-agent.log`,
/// `machine_create.log`, `vm.log`, `zoneinit.log`).
fn customer_name(original: &str) -> String {
    let (stem, ext) = match original.strip_suffix(".gz") {
        Some(rest) => (rest, ".log.gz"),
        None => match original.rsplit_once('.') {
            Some((stem, ext)) if ext.len() <= 4 && !ext.contains(':') => {
                (stem, if ext == "log" { ".log" } else { ".txt" })
            }
            _ => (original, ".txt"),
        },
    };
    let stem = stem.trim_end_matches(".log");
    let mut name = stem.to_string();
    for prefix in [
        "smartdc-site-",
        "smartdc-application-",
        "smartdc-agent-",
        "system-smartdc-",
        "system-",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.to_string();
        }
    }
    // `<ms>-<pid>-<task>` → `<task>`; `<service>_<node>_<stamp>` → `<service>`.
    let parts: Vec<&str> = name.splitn(3, '-').collect();
    if parts.len() == 3 && parts[0].len() == 13 && parts[0].chars().all(|c| c.is_ascii_digit()) {
        name = parts[2].to_string();
    }
    if let Some((service, _)) = name.split_once('_') {
        if !service.is_empty() && !name.starts_with("machine_") && !name.starts_with("image_") {
            name = service.to_string();
        }
    }
    let name = name.replace(":default", "").replace(':', "-");
    let name = if name.len() == 36 {
        "zone".to_string()
    } else {
        name
    };
    format!("{name}{ext}")
}

/// Every regular file under `root`.
fn files_under(root: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(root).expect("list").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            files_under(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

/// Input 3: every file of every host and the attached output, renamed, loose in one tarball.
fn renamed_tarball(dc: &Path, expected: &Value, attached: &Path, out: &Path) -> PathBuf {
    let mut files = Vec::new();
    files_under(&dc.join("hn"), &mut files);
    files_under(&dc.join("cn"), &mut files);
    let mut renamed: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let name = customer_name(&f.file_name().unwrap_or_default().to_string_lossy());
            (f, name)
        })
        .collect();
    for file in std::fs::read_dir(attached).expect("attached").flatten() {
        let original = file.file_name().to_string_lossy().into_owned();
        let name = if original.starts_with("jobs-") {
            "vm-jobs.json".to_string()
        } else if original.starts_with("job-") {
            "job.json".to_string()
        } else if original.starts_with("svcs-") {
            "svcs.txt".to_string()
        } else {
            original
        };
        renamed.push((file.path(), name));
    }
    // `vmadm get` of the VM on its CN, as a customer would paste it.
    let staged = out.with_extension("staged");
    std::fs::create_dir_all(&staged).expect("mkdir");
    for p in expected["provisions"].as_array().into_iter().flatten() {
        if let (Some(vm), Some(server)) = (p["vm_uuid"].as_str(), p["server_uuid"].as_str()) {
            let path = write(
                &staged,
                "vmadm-get.json",
                &fake(dc, server, &["vmadm", "get", vm]),
            );
            renamed.push((path, "vmadm-get.json".to_string()));
        }
    }
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    let mut tar = new_tarball(out);
    for (path, name) in renamed {
        let n = taken.entry(name.clone()).or_insert(0);
        *n += 1;
        let unique = match (*n, name.split_once('.')) {
            (1, _) => name,
            (n, Some((stem, ext))) => format!("{stem}-{n}.{ext}"),
            (n, None) => format!("{name}-{n}"),
        };
        tar.append_path_with_name(&path, format!("ticket-files/{unique}"))
            .expect("append");
    }
    finish(tar);
    out.to_path_buf()
}

/// One scenario's datacenter as the three kinds of input.
fn check_scenario(scenario: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tmp");
    let dc = tmp.path().join("dc");
    let expected = create(scenario, &dc);
    let attached = tmp.path().join("attached");
    attach(&dc, &expected, &attached);
    let mut problems = Vec::new();
    let mut analyze = |what: &str, inputs: &[&Path]| -> Option<Value> {
        let out = run_paths(&["--format", "json"], inputs);
        if out.status.code() != Some(0) {
            problems.push(format!(
                "{scenario} ({what}): exit {:?}: {}",
                out.status.code(),
                stderr(&out)
            ));
            return None;
        }
        Some(json(&out))
    };
    let dirs = analyze("directories", &[&dc.join("cn"), &dc.join("hn"), &attached]);
    let tarballs = host_tarballs(&dc, &expected, &attached, &tmp.path().join("raw"));
    let paths: Vec<&Path> = tarballs.iter().map(|p| p.as_path()).collect();
    let raw = analyze("tarballs at original paths", &paths);
    let loose = renamed_tarball(
        &dc,
        &expected,
        &attached,
        &tmp.path().join("ticket-1234.tgz"),
    );
    let renamed = analyze("renamed loose files", &[&loose]);
    if let Some(report) = dirs {
        problems.extend(check(
            &format!("{scenario} (directories)"),
            &expected,
            &report,
        ));
    }
    if let Some(report) = raw {
        problems.extend(check(
            &format!("{scenario} (tarballs at original paths)"),
            &expected,
            &report,
        ));
    }
    if let Some(report) = renamed {
        problems.extend(check_diagnosis(
            &format!("{scenario} (renamed loose files)"),
            &expected,
            &report,
        ));
    }
    problems
}

#[test]
fn every_scenario_as_hand_made_input() {
    let all = scenarios();
    assert!(
        all.iter().any(|s| s == "kvm-qemu-out-of-memory"),
        "scenarios: {all:?}"
    );
    // Scenarios are independent: two at a time.
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(scenario) = all.get(i) else { break };
                let found = check_scenario(scenario);
                problems
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend(found);
            });
        }
    });
    let problems = problems.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn customer_names_drop_paths_uuids_and_stamps() {
    for (original, want) in [
        ("smartdc-site-vmapi:default.log", "vmapi.log"),
        (
            "vmapi_94a47caf-3c09-4a8c-8db7-192afe6d18c1_2024-05-11T09:00:00.log",
            "vmapi.log",
        ),
        (
            "wf-runner_b4ef3fe3-b71f-4abd-81c1-13d4a1588635_2024-05-11T08:00:00.log.gz",
            "wf-runner.log.gz",
        ),
        (
            "1715417875463-73144-machine_create.log",
            "machine_create.log",
        ),
        ("system-zoneinit:default.log", "zoneinit.log"),
        ("smartdc-mdata:fetch.log", "smartdc-mdata-fetch.log"),
        (
            "cn-agent-tasks_B6WLUCN_2024-05-11T08:00:02.log",
            "cn-agent-tasks.log",
        ),
        ("vm.log", "vm.log"),
        ("12708f22-d4c4-4c6d-a05b-76f419679b36.xml", "zone.txt"),
    ] {
        assert_eq!(customer_name(original), want, "{original}");
    }
}

#[test]
fn default_scenario_as_a_hand_made_tarball() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("dc");
    let expected = create("kvm-qemu-out-of-memory", &dir);
    attach(&dir, &expected, &dir.join("attached"));
    // The customer's tarball: the CN trees (cn/<server>/...), the headnode tree and the attached
    // files; symbolic links are stored as links and must not be followed by the reader.
    let tgz = tmp.path().join("customer-files.tar.gz");
    let file = std::fs::File::create(&tgz).expect("create");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    tar.follow_symlinks(false);
    for part in ["cn", "hn", "attached"] {
        tar.append_dir_all(format!("case-42/{part}"), dir.join(part))
            .expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gzip");
    let out = run_paths(&["--format", "json"], &[&tgz]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let problems = check("kvm-qemu-out-of-memory (tarball)", &expected, &json(&out));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And the markdown names the vm.log line.
    let md = stdout(&run_paths(&[], &[&tgz]));
    assert!(md.contains("Failed to allocate memory"), "{md}");
}
