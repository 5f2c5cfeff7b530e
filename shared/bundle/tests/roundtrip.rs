//! Write with the writer, read back with our reader and with stock `tar` and `gzip`.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;
use triton_bundle::layout;
use triton_bundle::{Bundle, BundleError, BundleKind, BundleWriter};

const TOP: &str = "triton-bundle-headnode-20240501T100000Z";

struct Written {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    expected: Vec<(String, Vec<u8>)>,
    manifest: triton_bundle::Manifest,
}

/// A bundle with small, multi-block, long-named, short-source and file-sourced entries.
fn write_sample() -> Written {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{TOP}.tar.gz"));
    let mut writer = BundleWriter::create(&path, TOP).unwrap();
    let mut expected = Vec::new();
    let mut items = Vec::new();

    let log = layout::host_file(SERVER, "/var/svc/log/smartdc-application-vmapi:default.log");
    let data = b"{\"msg\":\"hello\"}\n".repeat(100);
    let added = writer.add_bytes(&log, &data).unwrap();
    assert_eq!((added.bytes, added.short_by), (data.len() as u64, 0));
    assert_eq!(added.sha256, sha256_hex(&data));
    items.push(file_item(&log, added.bytes, &added.sha256));
    expected.push((log, data));

    // Spans many BGZF blocks.
    let big_name = layout::api("workflow", "/jobs/6a4d1e82-0d2a-4f0e-9d8c-0a3e3c6bd1a4");
    let big = noise(7, 700_000);
    let added = writer
        .add_reader(&big_name, big.len() as u64, &mut &big[..])
        .unwrap();
    assert_eq!(added.sha256, sha256_hex(&big));
    expected.push((big_name, big));

    // Longer than the 100-byte ustar name field and than 255 bytes in total.
    let deep = format!("/zones/{}/root/{}/vm.log", "z".repeat(36), "d/".repeat(120));
    let long_name = layout::host_file(SERVER, &deep);
    assert!(long_name.len() > 255);
    writer.add_bytes(&long_name, b"long name\n").unwrap();
    expected.push((long_name, b"long name\n".to_vec()));

    // A source that ends early is padded to the announced size, and says so.
    let short_name = layout::host_command(SERVER, "zpool history");
    let added = writer
        .add_reader(&short_name, 10, &mut &b"abc"[..])
        .unwrap();
    assert_eq!(added.short_by, 7);
    let mut padded = b"abc".to_vec();
    padded.resize(10, 0);
    assert_eq!(added.sha256, sha256_hex(&padded));
    expected.push((short_name, padded));

    let source = dir.path().join("source.log");
    fs::write(&source, b"0123456789").unwrap();
    let file_name = layout::host_file(SERVER, "/var/log/source.log");
    let added = writer.add_file(&file_name, &source, Some(4)).unwrap();
    assert_eq!((added.bytes, added.source_len), (4, Some(10)));
    expected.push((file_name, b"0123".to_vec()));

    let empty = layout::api("vmapi", "/vms?state=failed");
    writer.add_bytes(&empty, b"").unwrap();
    expected.push((empty, Vec::new()));

    let manifest = sample_manifest(items);
    let finished = writer.finish(&manifest).unwrap();
    assert_eq!(finished.path, path);
    assert_eq!(finished.bytes, fs::metadata(&path).unwrap().len());
    Written {
        _dir: dir,
        path,
        expected,
        manifest,
    }
}

#[test]
fn our_reader_reads_back_everything_in_order() {
    let written = write_sample();
    let mut bundle = Bundle::open(&written.path).unwrap();
    assert_eq!(bundle.kind(), BundleKind::BgzfTar);
    assert!(bundle.is_triton_bundle());
    assert_eq!(bundle.format_version(), Some("1.2"));
    assert!(
        bundle.manifest().is_none(),
        "archives have the manifest only after a pass"
    );

    let (entries, summary) = {
        let mut entries = Vec::new();
        let summary = bundle
            .for_each_entry(&mut |entry| {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                entries.push((entry.path().to_string(), data));
                Ok(())
            })
            .unwrap();
        (entries, summary)
    };
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert_eq!(summary.entries as usize, entries.len());
    assert_eq!(entries.first().unwrap().0, "bundle-format.json");
    assert_eq!(entries.last().unwrap().0, "manifest.json");
    let stamp: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    assert_eq!(stamp["format"], "triton-support-bundle");
    assert_eq!(stamp["format_version"], "1.2");
    assert_eq!(&entries[1..entries.len() - 1], &written.expected[..]);
    assert_eq!(bundle.manifest(), Some(&written.manifest));
}

#[test]
fn file_mode_checksum_file_and_no_leftovers() {
    let written = write_sample();
    let mode = fs::metadata(&written.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir = written.path.parent().unwrap();
    let names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");

    let sum_text = fs::read_to_string(format!("{}.sha256", written.path.display())).unwrap();
    let bytes = fs::read(&written.path).unwrap();
    assert_eq!(sum_text, format!("{}  {TOP}.tar.gz\n", sha256_hex(&bytes)));
    run(Command::new("sha256sum")
        .arg("-c")
        .arg(format!("{TOP}.tar.gz.sha256"))
        .current_dir(dir));
}

#[test]
fn stock_gzip_and_tar_read_it() {
    let written = write_sample();
    run(Command::new("gzip").arg("-t").arg(&written.path));

    let out = run(Command::new("gzip").arg("-dc").arg(&written.path));
    let mut via_gzip = tar::Archive::new(&out.stdout[..]);
    let names: Vec<String> = via_gzip
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.first().unwrap(), &format!("{TOP}/bundle-format.json"));
    assert_eq!(names.last().unwrap(), &format!("{TOP}/manifest.json"));

    let unpack = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("xzf")
        .arg(&written.path)
        .current_dir(unpack.path()));
    for (name, data) in &written.expected {
        let on_disk = fs::read(unpack.path().join(TOP).join(name)).unwrap();
        assert_eq!(&on_disk, data, "{name}");
    }
    let manifest: triton_bundle::Manifest =
        serde_json::from_slice(&fs::read(unpack.path().join(TOP).join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest, written.manifest);

    // The unpacked directory reads as the same bundle, manifest available at open.
    let mut from_dir = Bundle::open(unpack.path()).unwrap();
    assert_eq!(from_dir.kind(), BundleKind::Directory);
    assert!(from_dir.is_triton_bundle());
    assert_eq!(from_dir.manifest(), Some(&written.manifest));
    let (entries, _) = read_all(&mut from_dir).unwrap();
    for (name, data) in &written.expected {
        assert_eq!(entries.get(name), Some(data), "{name}");
    }
}

#[test]
fn parallel_inflation_matches_single_threaded() {
    let written = write_sample();
    let mut outputs = Vec::new();
    for threads in [1, 4] {
        let mut bundle = Bundle::open(&written.path).unwrap();
        bundle.set_threads(threads);
        let mut seen = Vec::new();
        bundle
            .for_each_entry(&mut |entry| {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                seen.push((entry.path().to_string(), sha256_hex(&data)));
                Ok(())
            })
            .unwrap();
        outputs.push(seen);
    }
    assert!(outputs[0].len() > 3);
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn writer_refuses_unsafe_duplicate_and_reserved_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tar.gz");
    let mut writer = BundleWriter::create(&path, "top").unwrap();
    for bad in [
        "../x",
        "/etc/passwd",
        "a/../b",
        "a\0b",
        "",
        "manifest.json",
        "bundle-format.json",
    ] {
        let err = writer.add_bytes(bad, b"x").unwrap_err();
        assert!(
            matches!(err, BundleError::BadEntryName { .. }),
            "{bad:?}: {err}"
        );
    }
    writer.add_bytes("a/b", b"x").unwrap();
    assert!(matches!(
        writer.add_bytes("a/b", b"y"),
        Err(BundleError::DuplicateEntry { .. })
    ));
    // A FIFO is refused at once instead of blocking the collector.
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert!(writer.add_file("fifo", &fifo, None).is_err());
    assert!(BundleWriter::create(&dir.path().join("c.tar.gz"), "a/b").is_err());
    drop(writer);
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "an unfinished writer leaves only the fifo behind"
    );
}
