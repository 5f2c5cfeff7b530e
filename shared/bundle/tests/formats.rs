//! The same bundle content as a stock `tar czf`, a `.tar`, a `.zip`, a directory and our BGZF
//! writer: every reader path must deliver the same entries.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;
use triton_bundle::{layout, Bundle, BundleKind, BundleWriter};

const TOP: &str = "triton-bundle-hn-20240501T100000Z";

fn content() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            layout::host_file(SERVER, "/var/log/vm.log"),
            b"Failed to allocate memory\n".to_vec(),
        ),
        (
            layout::host_command(SERVER, "zpool-history"),
            b"History for 'zones':\n".to_vec(),
        ),
        (
            layout::api("workflow", "/jobs/j1"),
            br#"{"uuid":"j1"}"#.to_vec(),
        ),
        (layout::api("vmapi", "/vms/v1/jobs"), noise(5, 150_000)),
    ]
}

/// `<root>/<TOP>/...` with bundle-format.json and manifest.json, as an unpacked bundle looks.
fn unpacked(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    all.insert(
        "bundle-format.json".to_string(),
        br#"{"format":"triton-support-bundle","format_version":"1.0"}"#.to_vec(),
    );
    all.insert(
        "manifest.json".to_string(),
        serde_json::to_vec(&sample_manifest(vec![])).unwrap(),
    );
    all.extend(content());
    for (name, data) in &all {
        let path = root.join(TOP).join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
    all
}

fn check(path: &Path, kind: BundleKind, expected: &BTreeMap<String, Vec<u8>>) {
    let mut bundle = Bundle::open(path).unwrap();
    assert_eq!(bundle.kind(), kind, "{}", path.display());
    assert!(bundle.is_triton_bundle(), "{}", path.display());
    let (entries, summary) = read_all(&mut bundle).unwrap();
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{}",
        path.display()
    );
    assert_eq!(&entries, expected, "{}", path.display());
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    assert_eq!(bundle.manifest(), Some(&sample_manifest(vec![])));
}

#[test]
fn every_container_delivers_the_same_entries() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let expected = unpacked(&src);

    // Stock tar, both compressed and not; the names carry the extension a user might choose,
    // detection must not depend on it.
    let tgz = work.path().join("bundle.tgz");
    run(Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg(TOP)
        .current_dir(&src));
    let plain_tar = work.path().join("bundle.dat");
    run(Command::new("tar")
        .arg("cf")
        .arg(&plain_tar)
        .arg(TOP)
        .current_dir(&src));

    let zip_path = work.path().join("bundle.zip");
    {
        let mut zip = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.add_directory(format!("{TOP}/"), options).unwrap();
        for (name, data) in &expected {
            zip.start_file(format!("{TOP}/{name}"), options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }

    let ours = work.path().join("ours.tar.gz");
    let mut writer = BundleWriter::create(&ours, TOP).unwrap();
    for (name, data) in content() {
        writer.add_bytes(&name, &data).unwrap();
    }
    writer.finish(&sample_manifest(vec![])).unwrap();

    check(&tgz, BundleKind::GzipTar, &expected);
    check(&plain_tar, BundleKind::Tar, &expected);
    check(&zip_path, BundleKind::Zip, &expected);
    check(&src, BundleKind::Directory, &expected);
    check(&src.join(TOP), BundleKind::Directory, &expected);

    // Ours differs only in the bytes of the two JSON files (pretty-printed).
    let mut bundle = Bundle::open(&ours).unwrap();
    let (entries, _) = read_all(&mut bundle).unwrap();
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, data) in content() {
        assert_eq!(entries[&name], data);
    }
}

#[test]
fn other_archives_and_single_files_are_read_as_they_are() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    fs::create_dir_all(src.join("logs")).unwrap();
    fs::write(src.join("logs/a.log"), b"a\n").unwrap();
    let tgz = work.path().join("x.tar.gz");
    run(Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("logs")
        .current_dir(&src));
    let mut bundle = Bundle::open(&tgz).unwrap();
    assert!(!bundle.is_triton_bundle());
    let (entries, _) = read_all(&mut bundle).unwrap();
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["logs/a.log"]);
    assert!(bundle.manifest().is_none());

    let single = src.join("logs/a.log");
    let mut bundle = Bundle::open(&single).unwrap();
    assert_eq!(bundle.kind(), BundleKind::PlainFile);
    let (entries, _) = read_all(&mut bundle).unwrap();
    assert_eq!(entries.get("a.log").map(Vec::as_slice), Some(&b"a\n"[..]));

    let gz = work.path().join("vmapi.log.gz");
    run(Command::new("sh").arg("-c").arg(format!(
        "printf 'line1\\nline2\\n' | gzip > '{}'",
        gz.display()
    )));
    let mut bundle = Bundle::open(&gz).unwrap();
    assert_eq!(bundle.kind(), BundleKind::GzipFile);
    let (entries, _) = read_all(&mut bundle).unwrap();
    assert_eq!(
        entries.get("vmapi.log").map(Vec::as_slice),
        Some(&b"line1\nline2\n"[..])
    );

    let xz_like = work.path().join("bundle.tar.gz");
    fs::write(&xz_like, [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2]).unwrap();
    let err = Bundle::open(&xz_like).unwrap_err().to_string();
    assert!(err.contains("xz") && err.contains("bundle.tar.gz"), "{err}");
}
