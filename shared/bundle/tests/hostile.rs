//! Untrusted input: unknown versions, unsafe entries, damaged archives.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::*;
use flate2::write::GzEncoder;
use triton_bundle::{Bundle, BundleError, BundleWriter};

/// A tar member with the name bytes written verbatim (the tar crate refuses `..` in `set_path`).
fn raw_member(
    out: &mut Vec<u8>,
    name: &[u8],
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    if let Some(link) = link {
        header.set_link_name(link).unwrap();
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn gzip_to(path: &Path, tar_bytes: &[u8]) {
    let mut gz = GzEncoder::new(
        fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(tar_bytes).unwrap();
    gz.finish().unwrap();
}

fn stamp(version: &str) -> Vec<u8> {
    format!(r#"{{"format":"triton-support-bundle","format_version":"{version}"}}"#).into_bytes()
}

#[test]
fn unknown_major_version_is_refused_before_any_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.tar.gz");
    let mut tar_bytes = Vec::new();
    raw_member(
        &mut tar_bytes,
        b"top/bundle-format.json",
        tar::EntryType::Regular,
        None,
        &stamp("2.0"),
    );
    raw_member(
        &mut tar_bytes,
        b"top/hosts/a.log",
        tar::EntryType::Regular,
        None,
        b"data",
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    gzip_to(&path, &tar_bytes);

    let err = Bundle::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, BundleError::UnsupportedVersion { .. }),
        "{msg}"
    );
    assert!(msg.contains("x.tar.gz"), "{msg}");
    assert!(msg.contains("bundle-format.json"), "{msg}");
    assert!(msg.contains("2.0") && msg.contains("1.x"), "{msg}");
    assert!(msg.contains("upgrade triton-analyze"), "{msg}");

    // The same for an unpacked bundle.
    fs::create_dir_all(dir.path().join("d/top")).unwrap();
    fs::write(dir.path().join("d/top/bundle-format.json"), stamp("3.1")).unwrap();
    let msg = Bundle::open(&dir.path().join("d")).unwrap_err().to_string();
    assert!(msg.contains("3.1"), "{msg}");

    // A newer minor version is fine.
    let mut tar_bytes = Vec::new();
    raw_member(
        &mut tar_bytes,
        b"top/bundle-format.json",
        tar::EntryType::Regular,
        None,
        &stamp("1.9"),
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    gzip_to(&path, &tar_bytes);
    assert!(Bundle::open(&path).unwrap().is_triton_bundle());

    // Another format name is refused too.
    let mut tar_bytes = Vec::new();
    let other = br#"{"format":"someone-else","format_version":"1.0"}"#;
    raw_member(
        &mut tar_bytes,
        b"top/bundle-format.json",
        tar::EntryType::Regular,
        None,
        other,
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    gzip_to(&path, &tar_bytes);
    assert!(matches!(
        Bundle::open(&path),
        Err(BundleError::UnknownFormat { .. })
    ));
}

#[test]
fn manifest_with_unknown_major_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tar.gz");
    let mut tar_bytes = Vec::new();
    raw_member(
        &mut tar_bytes,
        b"top/bundle-format.json",
        tar::EntryType::Regular,
        None,
        &stamp("1.0"),
    );
    raw_member(
        &mut tar_bytes,
        b"top/manifest.json",
        tar::EntryType::Regular,
        None,
        &stamp("2.0"),
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    gzip_to(&path, &tar_bytes);
    let mut bundle = Bundle::open(&path).unwrap();
    let mut delivered = Vec::new();
    let err = bundle
        .for_each_entry(&mut |entry| {
            delivered.push(entry.path().to_string());
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, BundleError::UnsupportedVersion { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("manifest.json"), "{err}");
    assert_eq!(
        delivered,
        ["bundle-format.json"],
        "the refused manifest is not delivered"
    );
}

#[test]
fn unsafe_and_special_entries_are_skipped_and_listed() {
    // The archive sits one level down in a directory of our own, so "../x" escaping it would land
    // in a place this test owns and can check.
    let outer = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir_in(outer.path()).unwrap();
    let path = dir.path().join("evil.tar");
    let mut tar_bytes = Vec::new();
    raw_member(
        &mut tar_bytes,
        b"../x",
        tar::EntryType::Regular,
        None,
        b"escape",
    );
    raw_member(
        &mut tar_bytes,
        b"/etc/cron.d/evil",
        tar::EntryType::Regular,
        None,
        b"abs",
    );
    raw_member(
        &mut tar_bytes,
        b"a/../../y",
        tar::EntryType::Regular,
        None,
        b"escape",
    );
    raw_member(
        &mut tar_bytes,
        b"link",
        tar::EntryType::Symlink,
        Some("/etc/shadow"),
        b"",
    );
    raw_member(
        &mut tar_bytes,
        b"hard",
        tar::EntryType::Link,
        Some("ok.txt"),
        b"",
    );
    raw_member(
        &mut tar_bytes,
        b"a/..\\..\\z",
        tar::EntryType::Regular,
        None,
        b"escape on Windows",
    );
    raw_member(&mut tar_bytes, b"pipe", tar::EntryType::Fifo, None, b"");
    raw_member(&mut tar_bytes, b"dev", tar::EntryType::Char, None, b"");
    raw_member(
        &mut tar_bytes,
        b"./ok.txt",
        tar::EntryType::Regular,
        None,
        b"fine",
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    fs::write(&path, &tar_bytes).unwrap();

    let mut bundle = Bundle::open(&path).unwrap();
    let (entries, summary) = read_all(&mut bundle).unwrap();
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["ok.txt"]);
    let skipped: Vec<(&str, &str)> = summary
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("../x", "unsafe name: contains '..'"),
            ("/etc/cron.d/evil", "unsafe name: absolute path"),
            ("a/../../y", "unsafe name: contains '..'"),
            ("link", "symbolic link"),
            ("hard", "hard link"),
            ("a/..\\..\\z", "unsafe name: contains '..'"),
            ("pipe", "fifo"),
            ("dev", "character device"),
        ]
    );
    assert!(!dir.path().join("x").exists() && !outer.path().join("x").exists());

    // Directories: symbolic links are listed, not followed.
    let tree = dir.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("real.log"), b"r").unwrap();
    std::os::unix::fs::symlink("/etc", tree.join("etc-link")).unwrap();
    let mut bundle = Bundle::open(&tree).unwrap();
    let (entries, summary) = read_all(&mut bundle).unwrap();
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["real.log"]);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(summary.skipped[0].reason, "symbolic link");
}

#[test]
fn long_name_records_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("longname.tar");
    let mut tar_bytes = Vec::new();
    let huge = vec![b'a'; 200 * 1024];
    raw_member(
        &mut tar_bytes,
        b"././@LongLink",
        tar::EntryType::GNULongName,
        None,
        &huge,
    );
    raw_member(
        &mut tar_bytes,
        b"short",
        tar::EntryType::Regular,
        None,
        b"x",
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    fs::write(&path, &tar_bytes).unwrap();
    let (entries, result) = read_ordered(&path);
    assert!(entries.is_empty());
    let msg = result.unwrap_err().to_string();
    assert!(
        msg.contains("longname.tar") && msg.contains("long name"),
        "{msg}"
    );
}

/// A bundle of several incompressible entries, so truncation lands inside the data.
fn multi_entry_bundle(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut writer = BundleWriter::create(path, "top").unwrap();
    let mut expected = Vec::new();
    for i in 0..6u64 {
        let name = format!("hosts/s/files/log{i}.bin");
        let data = noise(i + 1, 200_000);
        writer.add_bytes(&name, &data).unwrap();
        expected.push((name, data));
    }
    writer.finish(&sample_manifest(vec![])).unwrap();
    expected
}

#[test]
fn truncated_bundle_errors_after_delivering_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tar.gz");
    let expected = multi_entry_bundle(&path);
    let full = fs::read(&path).unwrap();

    // Cut in the middle of a BGZF block.
    fs::write(&path, &full[..full.len() * 6 / 10 + 123]).unwrap();
    let (entries, result) = read_ordered(&path);
    let err = result.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cut.tar.gz"), "{msg}");
    assert!(matches!(err, BundleError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains("byte") && msg.contains("log"),
        "names offset and entry: {msg}"
    );
    assert!(entries.len() >= 3, "{} entries delivered", entries.len());
    assert_eq!(entries[0].0, "bundle-format.json");
    for (got, want) in entries[1..].iter().zip(&expected) {
        assert_eq!(got, want);
    }

    // Cut exactly between BGZF blocks: no gzip error, but the bundle has no manifest.
    let boundary = block_boundary_near(&full, full.len() / 2);
    fs::write(&path, &full[..boundary]).unwrap();
    let (entries, result) = read_ordered(&path);
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::MissingManifest { .. } | BundleError::TruncatedEntry { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("cut.tar.gz"));
    assert!(entries.len() >= 2);
}

/// Plain gzip has no points to resume at: damage in the middle still stops the reading there
/// (BGZF bundles read on past it: `resync.rs`).
#[test]
fn corrupt_bytes_in_a_plain_gzip_stop_the_reading_and_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    // Text, so that damaged bytes break the deflate codes (in stored blocks of incompressible
    // data only the final CRC would notice).
    let mut tar_bytes = Vec::new();
    for i in 0..6 {
        let text: String = (0..4000)
            .map(|n| format!("{{\"level\":30,\"msg\":\"entry {i} line {n}\"}}\n"))
            .collect();
        raw_member(
            &mut tar_bytes,
            format!("top/hosts/s/files/log{i}.bin").as_bytes(),
            tar::EntryType::Regular,
            None,
            text.as_bytes(),
        );
    }
    raw_member(
        &mut tar_bytes,
        b"top/manifest.json",
        tar::EntryType::Regular,
        None,
        b"{}",
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    let path = dir.path().join("flip.tar.gz");
    gzip_to(&path, &tar_bytes);
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0x5a;
    }
    fs::write(&path, &bytes).unwrap();
    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(bundle.kind(), triton_bundle::BundleKind::GzipTar);
    let mut delivered = Vec::new();
    let err = bundle
        .for_each_entry(&mut |entry| {
            let mut sink = Vec::new();
            // A read error surfaces here; the reader reports it with its location.
            if std::io::Read::read_to_end(entry, &mut sink).is_ok() {
                delivered.push(entry.path().to_string());
            }
            Ok(())
        })
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, BundleError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains("flip.tar.gz") && msg.contains("uncompressed byte"),
        "{msg}"
    );
    assert!(delivered.len() >= 2, "{delivered:?}");
    assert!(
        !delivered
            .iter()
            .any(|p| p.ends_with("manifest.json") || p.ends_with("log5.bin")),
        "nothing after the damage is read: {delivered:?}"
    );
    assert!(bundle.manifest().is_none());
}

#[test]
fn truncated_plain_tar_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tar");
    let mut tar_bytes = Vec::new();
    raw_member(
        &mut tar_bytes,
        b"a.log",
        tar::EntryType::Regular,
        None,
        &[b'a'; 1000],
    );
    raw_member(
        &mut tar_bytes,
        b"b.log",
        tar::EntryType::Regular,
        None,
        &[b'b'; 1000],
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    // Inside b.log's data.
    fs::write(&path, &tar_bytes[..512 * 4 + 700]).unwrap();
    let (entries, result) = read_ordered(&path);
    assert_eq!(entries.len(), 1);
    let err = result.unwrap_err();
    assert!(
        matches!(err, BundleError::TruncatedEntry { ref entry, .. } if entry == "b.log"),
        "{err}"
    );
    // Right after a.log: no end-of-archive block.
    fs::write(&path, &tar_bytes[..512 * 3]).unwrap();
    let (entries, result) = read_ordered(&path);
    assert_eq!(entries.len(), 1);
    assert!(result.unwrap_err().to_string().contains("end-of-archive"));
}

/// The start of the BGZF block nearest after `near`, found by walking BSIZE fields.
fn block_boundary_near(bytes: &[u8], near: usize) -> usize {
    let mut at = 0;
    while at < near {
        let bsize = u16::from_le_bytes([bytes[16 + at], bytes[17 + at]]) as usize;
        at += bsize + 1;
    }
    at
}

/// A gzip member holding `len` bytes of one repeated line, compressed as far as deflate goes
/// (about 1000 to 1).
fn repeated_member(len: usize) -> Vec<u8> {
    let line = b"{\"msg\":\"boom\"}\n";
    let data: Vec<u8> = line.iter().copied().cycle().take(len).collect();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_single_compressed_file_that_inflates_too_far_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    // 512 members of 1 MiB each: half a MiB on disk, 512 MiB inflated.
    let member = repeated_member(1 << 20);
    let path = dir.path().join("vmapi.log.gz");
    fs::write(&path, member.repeat(512)).unwrap();
    let started = std::time::Instant::now();
    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(bundle.kind(), triton_bundle::BundleKind::GzipFile);
    let mut delivered = 0;
    let err = bundle
        .for_each_entry(&mut |_| {
            delivered += 1;
            Ok(())
        })
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, BundleError::InflateLimit { .. }), "{msg}");
    assert!(
        msg.contains("vmapi.log.gz") && msg.contains("decompression bomb"),
        "{msg}"
    );
    assert_eq!(delivered, 0, "nothing of it is delivered");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    // bzip2 goes much further than gzip (a few bytes per MiB of one repeated byte).
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    for _ in 0..64 {
        bz.write_all(&[b'a'; 1 << 20]).unwrap();
    }
    let path = dir.path().join("repeated.bz2");
    fs::write(&path, bz.finish().unwrap()).unwrap();
    let err = Bundle::open(&path)
        .unwrap()
        .for_each_entry(&mut |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, BundleError::InflateLimit { .. }), "{err}");

    // Ordinary compressed logs are delivered inflated, whatever their ratio below the bound.
    let text = b"{\"level\":30,\"msg\":\"a line of log\"}\n".repeat(100_000);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    let path = dir.path().join("ok.log.gz");
    fs::write(&path, gz.finish().unwrap()).unwrap();
    let (entries, result) = read_ordered(&path);
    result.unwrap();
    assert_eq!(entries, [("ok.log".to_string(), text)]);
}

#[test]
fn gigabytes_after_the_end_of_the_tar_are_not_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("padded.tar.gz");
    let mut tar_bytes = Vec::new();
    raw_member(
        &mut tar_bytes,
        b"a.log",
        tar::EntryType::Regular,
        None,
        b"line\n",
    );
    tar_bytes.extend_from_slice(&[0; 1024]);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    let mut bytes = gz.finish().unwrap();
    // 20 MiB of zeros after the end-of-archive blocks, in members of 1 MiB.
    let mut zeros = GzEncoder::new(Vec::new(), flate2::Compression::best());
    zeros.write_all(&vec![0u8; 1 << 20]).unwrap();
    bytes.extend_from_slice(&zeros.finish().unwrap().repeat(20));
    fs::write(&path, &bytes).unwrap();
    let (entries, result) = read_ordered(&path);
    assert_eq!(entries, [("a.log".to_string(), b"line\n".to_vec())]);
    let summary = result.unwrap();
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("follow the end of the tar archive; not read")),
        "{:?}",
        summary.warnings
    );
}
