//! `.tar.bz2` input (what `sdc-sbcreate` writes) and single `.bz2` files, recognized by content.

mod common;

use std::fs;
use std::process::Command;

use common::archive::{bzip2, bzip2_level, stock_tar_bzip2, tar_of};
use common::*;
use triton_bundle::{Bundle, BundleKind, Compression};

const SERVER_DIR: &str = "564d9d7e-2c8b-4a7e-9b2b-6a1b3c3c1a01";

#[test]
fn tar_bz2_built_in_memory_is_read_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let sysinfo = format!("{SERVER_DIR}/sysinfo.json");
    let history = format!("{SERVER_DIR}/zpool.history");
    let big = noise(3, 400_000);
    let tar = tar_of(&[
        (&sysinfo, br#"{"UUID":"x"}"#),
        (&history, b"History for 'zones':\n"),
        ("big.bin", &big),
    ]);
    // The name says gzip: detection must not care.
    let path = dir.path().join("sdc-support.headnode.20240501T100000Z.tgz");
    fs::write(&path, bzip2(&tar)).unwrap();

    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(bundle.kind(), BundleKind::Tar);
    assert_eq!(bundle.compression(), Compression::Bzip2);
    assert!(!bundle.is_triton_bundle());
    let (entries, summary) = read_all(&mut bundle).unwrap();
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        [
            "564d9d7e-2c8b-4a7e-9b2b-6a1b3c3c1a01/sysinfo.json",
            "564d9d7e-2c8b-4a7e-9b2b-6a1b3c3c1a01/zpool.history",
            "big.bin"
        ]
    );
    assert_eq!(entries["big.bin"], big);
    assert_eq!(entries[&history], b"History for 'zones':\n");
    assert!(summary.skipped.is_empty() && summary.warnings.is_empty());
}

#[test]
fn stock_tar_cjf_is_read() {
    if !stock_tar_bzip2() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let top = work.path().join(SERVER_DIR);
    fs::create_dir_all(top.join("vmlogs")).unwrap();
    fs::write(top.join("vmadmlist"), "UUID  TYPE  RAM  STATE  ALIAS\n").unwrap();
    fs::write(top.join("vmlogs/abc.vm.log"), "Failed to allocate memory\n").unwrap();
    let out = work.path().join("sb.tar.bz2");
    run(Command::new("tar")
        .arg("-cjf")
        .arg(&out)
        .arg(SERVER_DIR)
        .current_dir(work.path()));

    let mut bundle = Bundle::open(&out).unwrap();
    assert_eq!(
        (bundle.kind(), bundle.compression()),
        (BundleKind::Tar, Compression::Bzip2)
    );
    let (entries, summary) = read_all(&mut bundle).unwrap();
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            format!("{SERVER_DIR}/vmadmlist"),
            format!("{SERVER_DIR}/vmlogs/abc.vm.log")
        ]
    );
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
}

#[test]
fn single_bz2_file_is_one_inflated_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmapi.log.bz2");
    fs::write(&path, bzip2(b"line1\nline2\n")).unwrap();
    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(
        (bundle.kind(), bundle.compression()),
        (BundleKind::PlainFile, Compression::Bzip2)
    );
    let (entries, _) = read_all(&mut bundle).unwrap();
    assert_eq!(
        entries.get("vmapi.log").map(Vec::as_slice),
        Some(&b"line1\nline2\n"[..])
    );
}

#[test]
fn truncated_tar_bz2_errors_after_delivering_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let first = noise(1, 300_000);
    let tar = tar_of(&[("first.bin", &first), ("second.bin", &noise(2, 300_000))]);
    let compressed = bzip2_level(&tar, bzip2::Compression::fast());
    let path = dir.path().join("cut.tar.bz2");
    fs::write(&path, &compressed[..compressed.len() * 3 / 4]).unwrap();

    let (delivered, result) = read_ordered(&path);
    let err = result.unwrap_err().to_string();
    assert_eq!(delivered.len(), 1, "{err}");
    assert_eq!(delivered[0].0, "first.bin");
    assert_eq!(delivered[0].1, first);
    assert!(err.contains("cut.tar.bz2"), "{err}");
    assert!(err.contains("second.bin"), "{err}");
}

#[test]
fn text_starting_with_bzh_is_a_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, "BZh9 is how bzip2 files start\n").unwrap();
    let bundle = Bundle::open(&path).unwrap();
    assert_eq!(
        (bundle.kind(), bundle.compression()),
        (BundleKind::PlainFile, Compression::None)
    );
}
