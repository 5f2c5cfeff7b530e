//! Archives inside archives (`Bundle::set_nested`): the layout of a `sdc-sbcreate` service
//! bundle, safety rules inside nested members, depth, bombs and damage.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::archive::{bzip2, gzip, raw_member, stock_tar_bzip2, tar_of};
use common::*;
use triton_bundle::{nested_layers, Bundle, BundleError, NestedLimits, ReadSummary};

const SERVER: &str = "44454c4c-3800-1056-8050-b4c04f383432";
const ZONE: &str = "a8e2c9d2-1f7b-4a4d-9c3e-5b6a7d8e9f01";

/// Reads `path` with nested archives opened within `limits`: entries in delivery order.
fn read_nested(path: &Path, limits: NestedLimits) -> (Delivered, Result<ReadSummary, BundleError>) {
    let mut delivered = Vec::new();
    let result = Bundle::open(path).and_then(|mut bundle| {
        bundle.set_nested(Some(limits));
        bundle.for_each_entry(&mut |entry| {
            let mut data = Vec::new();
            std::io::Read::read_to_end(entry, &mut data).map_err(|e| BundleError::Unsupported {
                path: path.to_path_buf(),
                what: e.to_string(),
            })?;
            assert_eq!(data.len() as u64, entry.size(), "{}", entry.path());
            delivered.push((entry.path().to_string(), data));
            Ok(())
        })
    });
    (delivered, result)
}

fn names(delivered: &Delivered) -> Vec<&str> {
    delivered.iter().map(|(n, _)| n.as_str()).collect()
}

/// A service bundle as `sdc-sbcreate` lays it out, built in memory.
fn service_bundle() -> Vec<u8> {
    let zone_log = format!("zones/{ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log");
    let zone_logs = gzip(&tar_of(&[(&zone_log, b"{\"msg\":\"POST /vms\"}\n")]));
    let gz_logs = gzip(&tar_of(&[(
        "var/svc/log/smartdc-agent-cn-agent:default.log",
        b"{\"msg\":\"task\"}\n",
    )]));
    let usbkey = tar_of(&[("usbkey/config", b"ufds_admin_pw=secret123\n")]);
    let vms = gzip(b"HTTP/1.1 200 OK\r\n\r\n[]\n");
    let p = |name: &str| format!("{SERVER}/{name}");
    let (sysinfo, zl, gl, uk, vm) = (
        p("sysinfo.json"),
        p("zone.logs.tar.gz"),
        p("gz-logs.tar.gz"),
        p("usbkey.config.tar"),
        p("vmapi_vms.gz"),
    );
    bzip2(&tar_of(&[
        (&sysinfo, b"{\"UUID\":\"x\"}\n"),
        (&zl, &zone_logs),
        (&gl, &gz_logs),
        (&uk, &usbkey),
        (&vm, &vms),
    ]))
}

#[test]
fn nested_archives_are_delivered_as_they_are_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.tar.bz2");
    fs::write(&path, service_bundle()).unwrap();
    let (delivered, result) = read_ordered(&path);
    result.unwrap();
    assert_eq!(
        names(&delivered),
        [
            format!("{SERVER}/sysinfo.json"),
            format!("{SERVER}/zone.logs.tar.gz"),
            format!("{SERVER}/gz-logs.tar.gz"),
            format!("{SERVER}/usbkey.config.tar"),
            format!("{SERVER}/vmapi_vms.gz"),
        ]
    );
    assert_eq!(&delivered[1].1[..2], &[0x1f, 0x8b]);
}

#[test]
fn service_bundle_members_are_read_inside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.tar.bz2");
    fs::write(&path, service_bundle()).unwrap();
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    let zone_log = format!(
        "{SERVER}/zone.logs.tar.gz//zones/{ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log"
    );
    assert_eq!(
        names(&delivered),
        [
            format!("{SERVER}/sysinfo.json"),
            zone_log.clone(),
            format!("{SERVER}/gz-logs.tar.gz//var/svc/log/smartdc-agent-cn-agent:default.log"),
            format!("{SERVER}/usbkey.config.tar//usbkey/config"),
            format!("{SERVER}/vmapi_vms.gz//vmapi_vms"),
        ]
    );
    assert_eq!(delivered[1].1, b"{\"msg\":\"POST /vms\"}\n");
    assert_eq!(delivered[3].1, b"ufds_admin_pw=secret123\n");
    assert_eq!(delivered[4].1, b"HTTP/1.1 200 OK\r\n\r\n[]\n");
    assert_eq!(
        nested_layers(&zone_log),
        [
            format!("{SERVER}/zone.logs.tar.gz").as_str(),
            &format!("zones/{ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log")
        ]
    );
    assert_eq!(summary.entries, 5);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
}

#[test]
fn stock_tar_service_bundle_is_read_inside() {
    if !stock_tar_bzip2() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let log_dir = root.join(format!("zones/{ZONE}/root/var/log"));
    fs::create_dir_all(&log_dir).unwrap();
    fs::write(log_dir.join("vm.log"), "line\n").unwrap();
    let top = work.path().join("out").join(SERVER);
    fs::create_dir_all(&top).unwrap();
    run(Command::new("tar")
        .arg("-zcf")
        .arg(top.join("zone.logs.tar.gz"))
        .arg(format!("zones/{ZONE}/root/var/log"))
        .current_dir(&root));
    let bundle = work.path().join("sdc-support.hn.20240501T100000Z.tar.bz2");
    run(Command::new("tar")
        .arg("-jcf")
        .arg(&bundle)
        .arg(SERVER)
        .current_dir(work.path().join("out")));

    let (delivered, result) = read_nested(&bundle, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(
        names(&delivered),
        [format!(
            "{SERVER}/zone.logs.tar.gz//zones/{ZONE}/root/var/log/vm.log"
        )]
    );
    assert_eq!(delivered[0].1, b"line\n");
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

#[test]
fn inner_entries_obey_the_same_safety_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut inner = Vec::new();
    raw_member(
        &mut inner,
        b"../escape",
        tar::EntryType::Regular,
        None,
        b"x",
    );
    raw_member(
        &mut inner,
        b"/etc/passwd",
        tar::EntryType::Regular,
        None,
        b"x",
    );
    raw_member(
        &mut inner,
        b"usbkey/link",
        tar::EntryType::Symlink,
        Some("/etc/shadow"),
        b"",
    );
    raw_member(&mut inner, b"dev/zero", tar::EntryType::Char, None, b"");
    raw_member(
        &mut inner,
        b"./usbkey/config",
        tar::EntryType::Regular,
        None,
        b"ok",
    );
    inner.extend_from_slice(&[0; 1024]);
    let path = dir.path().join("outer.tar");
    fs::write(&path, tar_of(&[("s/usbkey.config.tar.gz", &gzip(&inner))])).unwrap();

    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(names(&delivered), ["s/usbkey.config.tar.gz//usbkey/config"]);
    let skipped: Vec<(&str, &str)> = summary
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "s/usbkey.config.tar.gz//../escape",
                "unsafe name: contains '..'"
            ),
            (
                "s/usbkey.config.tar.gz///etc/passwd",
                "unsafe name: absolute path"
            ),
            ("s/usbkey.config.tar.gz//usbkey/link", "symbolic link"),
            ("s/usbkey.config.tar.gz//dev/zero", "character device"),
        ]
    );
}

/// outer.tar.bz2 ⊃ l1.tar.gz ⊃ l2.tar ⊃ l3.tgz ⊃ l4.tar.gz ⊃ deep.txt, each level with a file.
fn four_deep(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let l4 = gzip(&tar_of(&[("deep.txt", b"level 4\n")]));
    let l3 = gzip(&tar_of(&[("level3.txt", b"3\n"), ("l4.tar.gz", &l4)]));
    let l2 = tar_of(&[("level2.txt", b"2\n"), ("l3.tgz", &l3)]);
    let l1 = gzip(&tar_of(&[("level1.txt", b"1\n"), ("l2.tar", &l2)]));
    let path = dir.join("outer.tar.bz2");
    fs::write(
        &path,
        bzip2(&tar_of(&[("l1.tar.gz", &l1), ("after.txt", b"a\n")])),
    )
    .unwrap();
    (path, l4)
}

#[test]
fn nesting_deeper_than_the_limit_is_delivered_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (path, l4) = four_deep(dir.path());
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(
        names(&delivered),
        [
            "l1.tar.gz//level1.txt",
            "l1.tar.gz//l2.tar//level2.txt",
            "l1.tar.gz//l2.tar//l3.tgz//level3.txt",
            "l1.tar.gz//l2.tar//l3.tgz//l4.tar.gz",
            "after.txt",
        ]
    );
    assert_eq!(delivered[3].1, l4, "the too-deep archive comes as it is");
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    let warning = &summary.warnings[0];
    assert!(
        warning.starts_with("l1.tar.gz//l2.tar//l3.tgz//l4.tar.gz:")
            && warning.contains("3 levels"),
        "{warning}"
    );

    let deeper = NestedLimits {
        max_depth: 4,
        ..NestedLimits::default()
    };
    let (delivered, result) = read_nested(&path, deeper);
    assert!(result.unwrap().warnings.is_empty());
    assert!(names(&delivered).contains(&"l1.tar.gz//l2.tar//l3.tgz//l4.tar.gz//deep.txt"));
}

#[test]
fn gzip_bomb_stops_its_member_only() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = gzip(&tar_of(&[("first.log", b"kept\n"), ("zeros.bin", &zeros)]));
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let path = dir.path().join("outer.tar");
    fs::write(
        &path,
        tar_of(&[
            ("before.log", b"b\n"),
            ("s/zone.logs.tar.gz", &bomb),
            ("after.log", b"a\n"),
        ]),
    )
    .unwrap();

    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(
        names(&delivered),
        ["before.log", "s/zone.logs.tar.gz//first.log", "after.log"]
    );
    assert_eq!(
        summary.entries, 3,
        "the stopped entry is not counted as delivered"
    );
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    let warning = &summary.warnings[0];
    assert!(
        warning.starts_with("s/zone.logs.tar.gz:") && warning.contains("decompression bomb"),
        "{warning}"
    );
}

#[test]
fn bzip2_bomb_in_a_single_file_delivers_nothing_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = bzip2(&vec![0u8; 16 * 1024 * 1024]);
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let path = dir.path().join("outer.tar.bz2");
    fs::write(
        &path,
        bzip2(&tar_of(&[("vmapi_vms.bz2", &bomb), ("after.log", b"a\n")])),
    )
    .unwrap();
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(names(&delivered), ["after.log"]);
    assert!(
        summary.warnings.len() == 1
            && summary.warnings[0].starts_with("vmapi_vms.bz2:")
            && summary.warnings[0].contains("decompression bomb"),
        "{:?}",
        summary.warnings
    );
}

#[test]
fn the_total_inflate_budget_holds_across_members() {
    let dir = tempfile::tempdir().unwrap();
    let member = |seed| gzip(&tar_of(&[("data.bin", &noise(seed, 60_000))]));
    let (a, b, c) = (member(1), member(2), member(3));
    let path = dir.path().join("outer.tar");
    fs::write(
        &path,
        tar_of(&[("a.tar.gz", &a), ("b.tar.gz", &b), ("c.tar.gz", &c)]),
    )
    .unwrap();
    let limits = NestedLimits {
        max_inflated_bytes: 100_000,
        ..NestedLimits::default()
    };
    let (delivered, result) = read_nested(&path, limits);
    let summary = result.unwrap();
    assert_eq!(names(&delivered), ["a.tar.gz//data.bin", "c.tar.gz"]);
    assert_eq!(delivered[1].1, c);
    assert_eq!(summary.warnings.len(), 2, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].starts_with("b.tar.gz:") && summary.warnings[0].contains("100000"),
        "{:?}",
        summary.warnings
    );
    assert!(
        summary.warnings[1].starts_with("c.tar.gz:"),
        "{:?}",
        summary.warnings
    );
}

#[test]
fn a_damaged_nested_archive_is_a_warning_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let inner = gzip(&tar_of(&[
        ("a.log", b"first\n"),
        ("b.bin", &noise(7, 200_000)),
    ]));
    let cut = &inner[..inner.len() * 3 / 5];
    let path = dir.path().join("outer.tar");
    fs::write(
        &path,
        tar_of(&[("broken.tar.gz", cut), ("after.log", b"a\n")]),
    )
    .unwrap();
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(names(&delivered), ["broken.tar.gz//a.log", "after.log"]);
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].starts_with("broken.tar.gz:") && summary.warnings[0].contains("b.bin"),
        "{:?}",
        summary.warnings
    );
}

#[test]
fn a_truncated_outer_archive_is_still_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let inner = gzip(&tar_of(&[
        ("a.log", b"first\n"),
        ("b.bin", &noise(8, 300_000)),
    ]));
    let outer = tar_of(&[("before.log", b"b\n"), ("logs.tar.gz", &inner)]);
    let path = dir.path().join("outer.tar");
    fs::write(&path, &outer[..outer.len() / 2]).unwrap();
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("logs.tar.gz") && err.contains("outer.tar"),
        "{err}"
    );
    assert_eq!(names(&delivered), ["before.log", "logs.tar.gz//a.log"]);
}

#[test]
fn the_callers_error_from_inside_a_nested_archive_stops_the_reading() {
    let dir = tempfile::tempdir().unwrap();
    let inner = gzip(&tar_of(&[("a.log", b"1\n"), ("b.log", b"2\n")]));
    let path = dir.path().join("outer.tar");
    fs::write(
        &path,
        tar_of(&[("logs.tar.gz", &inner), ("after.log", b"a\n")]),
    )
    .unwrap();
    let mut bundle = Bundle::open(&path).unwrap();
    bundle.set_nested(Some(NestedLimits::default()));
    let mut seen = Vec::new();
    let err = bundle
        .for_each_entry(&mut |entry| {
            seen.push(entry.path().to_string());
            if entry.layers().last() == Some(&"a.log") {
                return Err(BundleError::Unsupported {
                    path: path.clone(),
                    what: "stop here".into(),
                });
            }
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("stop here"), "{err}");
    assert_eq!(seen, ["logs.tar.gz//a.log"]);
}

#[test]
fn a_file_that_only_looks_compressed_is_delivered_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    fake.extend_from_slice(&[0xff; 600]);
    let path = dir.path().join("outer.tar");
    fs::write(&path, tar_of(&[("odd.bin", &fake), ("after.log", b"a\n")])).unwrap();
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    let summary = result.unwrap();
    assert_eq!(names(&delivered), ["odd.bin", "after.log"]);
    assert_eq!(delivered[0].1, fake);
    assert!(
        summary.warnings.len() == 1 && summary.warnings[0].starts_with("odd.bin: damaged gzip"),
        "{:?}",
        summary.warnings
    );
}

#[test]
fn an_empty_compressed_tar_holds_nothing_but_a_file_of_zeros_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let empty_tar = gzip(&[0u8; 10240]);
    let zeros = gzip(&[0u8; 700]);
    let path = dir.path().join("outer.tar");
    fs::write(
        &path,
        tar_of(&[("gz-logs.tar.gz", &empty_tar), ("blank.gz", &zeros)]),
    )
    .unwrap();
    let (delivered, result) = read_nested(&path, NestedLimits::default());
    assert!(result.unwrap().warnings.is_empty());
    assert_eq!(names(&delivered), ["blank.gz//blank"]);
    assert_eq!(delivered[0].1, vec![0u8; 700]);
}
