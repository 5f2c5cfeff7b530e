//! A BGZF bundle damaged in the middle: the members after the damage are still read, the entry
//! the damage cut is reported lost (never delivered as if complete), and the summary names the
//! file, the compressed offset of the damage and what was skipped. Inline and parallel
//! inflation must agree.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use triton_bundle::{Bundle, BundleError, BundleWriter, ReadSummary};

/// One BGZF member of a file, located in the file and in the tar stream.
#[derive(Debug, Clone, Copy)]
struct Member {
    offset: usize,
    len: usize,
    tar_start: u64,
    isize: u64,
}

fn members(bytes: &[u8]) -> Vec<Member> {
    let mut out = Vec::new();
    let (mut at, mut tar) = (0usize, 0u64);
    while at + 18 <= bytes.len() {
        let len = u16::from_le_bytes([bytes[at + 16], bytes[at + 17]]) as usize + 1;
        let isize = u32::from_le_bytes(bytes[at + len - 4..at + len].try_into().unwrap()) as u64;
        out.push(Member {
            offset: at,
            len,
            tar_start: tar,
            isize,
        });
        at += len;
        tar += isize;
    }
    out
}

/// An entry of the clean tar stream: name (without the top directory), header and data offsets.
#[derive(Debug, Clone)]
struct TarEntry {
    name: String,
    header_at: u64,
    data_at: u64,
    size: u64,
}

fn tar_entries(path: &Path) -> Vec<TarEntry> {
    let mut stream = Vec::new();
    flate2::read::MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut stream)
        .unwrap();
    let mut archive = tar::Archive::new(&stream[..]);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            TarEntry {
                name: name.split_once('/').unwrap().1.to_string(),
                header_at: e.raw_header_position(),
                data_at: e.raw_file_position(),
                size: e.size(),
            }
        })
        .collect()
}

/// XORs 16 bytes in the middle of a member's deflate data (its header and trailer intact).
fn garble(bytes: &mut [u8], member: Member) {
    let middle = member.offset + member.len / 2;
    for byte in &mut bytes[middle..middle + 16] {
        *byte ^= 0x5a;
    }
}

struct Pass {
    /// Entries read whole, in order.
    whole: Vec<(String, Vec<u8>)>,
    /// Entries whose reading failed (handed out, then cut).
    failed: Vec<String>,
    result: Result<ReadSummary, BundleError>,
    manifest: bool,
    elapsed: Duration,
}

fn read_with(path: &Path, threads: usize) -> Pass {
    let started = Instant::now();
    let mut bundle = Bundle::open(path).unwrap();
    bundle.set_threads(threads);
    let (mut whole, mut failed) = (Vec::new(), Vec::new());
    let result = bundle.for_each_entry(&mut |entry| {
        let mut data = Vec::new();
        match entry.read_to_end(&mut data) {
            Ok(_) => whole.push((entry.path().to_string(), data)),
            Err(_) => failed.push(entry.path().to_string()),
        }
        Ok(())
    });
    Pass {
        whole,
        failed,
        result,
        manifest: bundle.manifest().is_some(),
        elapsed: started.elapsed(),
    }
}

/// A bundle of `count` entries of `size` incompressible bytes; returns what each holds.
fn bundle_of(path: &Path, count: u64, size: usize) -> BTreeMap<String, Vec<u8>> {
    let mut writer = BundleWriter::create(path, "top").unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..count {
        let name = format!("hosts/s/files/var/log/f{i:03}.log");
        let data = noise(i + 11, size);
        writer.add_bytes(&name, &data).unwrap();
        expected.insert(name, data);
    }
    writer.finish(&sample_manifest(vec![])).unwrap();
    expected
}

fn assert_delivered_exactly(pass: &Pass, expected: &BTreeMap<String, Vec<u8>>) {
    for (name, data) in &pass.whole {
        if name == "bundle-format.json" || name == "manifest.json" {
            continue;
        }
        assert_eq!(
            Some(data),
            expected.get(name),
            "{name} delivered with other content"
        );
    }
}

#[test]
fn a_damaged_member_in_a_large_entry_loses_only_that_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.tar.gz");
    let expected = bundle_of(&path, 6, 200_000);
    let entries = tar_entries(&path);
    let mut bytes = fs::read(&path).unwrap();
    let list = members(&bytes);
    let victim = &entries[3];
    // A member wholly inside the victim's data.
    let bad = *list
        .iter()
        .find(|m| {
            m.tar_start > victim.data_at && m.tar_start + m.isize < victim.data_at + victim.size
        })
        .expect("a member inside the entry");
    garble(&mut bytes, bad);
    fs::write(&path, &bytes).unwrap();

    for threads in [1, 2, 4] {
        let pass = read_with(&path, threads);
        let summary = pass
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("threads {threads}: {e}"));
        let names: Vec<&str> = pass.whole.iter().map(|(n, _)| n.as_str()).collect();
        let mut wanted = vec!["bundle-format.json"];
        let others: Vec<&str> = expected
            .keys()
            .map(String::as_str)
            .filter(|n| !victim.name.ends_with(n))
            .collect();
        wanted.extend(others);
        wanted.push("manifest.json");
        assert_eq!(names, wanted, "threads {threads}");
        assert_delivered_exactly(&pass, &expected);
        assert_eq!(pass.failed, [victim.name.as_str()], "the cut entry fails");
        assert!(pass.manifest, "the manifest after the damage is read");
        assert_eq!(summary.entries, 7);

        let lost: Vec<_> = summary
            .skipped
            .iter()
            .filter(|s| s.path.ends_with(&victim.name))
            .collect();
        assert_eq!(lost.len(), 1, "{:?}", summary.skipped);
        let offset = format!("compressed byte {}", bad.offset);
        assert!(
            lost[0].reason.starts_with("lost:") && lost[0].reason.contains(&offset),
            "{}",
            lost[0].reason
        );
        let warning = summary
            .warnings
            .iter()
            .find(|w| w.contains(&offset))
            .unwrap_or_else(|| panic!("no warning names {offset}: {:?}", summary.warnings));
        assert!(warning.contains("damaged.tar.gz"), "{warning}");
        assert!(warning.contains(&victim.name), "{warning}");
        assert!(
            warning.contains("no entry was lost") || warning.contains("lost: the rest of"),
            "{warning}"
        );
        assert!(
            !warning.contains("names unknown"),
            "the end of the entry was known: {warning}"
        );
    }
}

#[test]
fn a_damaged_member_holding_headers_says_their_entries_are_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.tar.gz");
    let expected = bundle_of(&path, 400, 700);
    let entries = tar_entries(&path);
    let mut bytes = fs::read(&path).unwrap();
    let list = members(&bytes);
    let bad = list[list.len() / 2];
    garble(&mut bytes, bad);
    fs::write(&path, &bytes).unwrap();
    let damage_end = bad.tar_start + bad.isize;
    let wholly_before: Vec<&str> = entries
        .iter()
        .filter(|e| e.data_at + e.size <= bad.tar_start)
        .map(|e| e.name.as_str())
        .collect();
    let wholly_after: Vec<&str> = entries
        .iter()
        .filter(|e| e.header_at >= damage_end)
        .map(|e| e.name.as_str())
        .collect();
    assert!(wholly_after.len() > 100 && wholly_before.len() > 100);

    for threads in [1, 3] {
        let pass = read_with(&path, threads);
        let summary = pass
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("threads {threads}: {e}"));
        assert_delivered_exactly(&pass, &expected);
        let names: Vec<&str> = pass.whole.iter().map(|(n, _)| n.as_str()).collect();
        for name in wholly_before.iter().chain(&wholly_after) {
            assert!(
                names.contains(name),
                "threads {threads}: {name} not delivered"
            );
        }
        // At most the entries touching the damaged member are missing.
        let touching = entries.len() - wholly_before.len() - wholly_after.len();
        assert!(
            names.len() + touching >= entries.len(),
            "{} of {}",
            names.len(),
            entries.len()
        );
        assert!(pass.manifest);
        let warning = summary
            .warnings
            .iter()
            .find(|w| w.contains(&format!("compressed byte {}", bad.offset)))
            .unwrap_or_else(|| panic!("{:?}", summary.warnings));
        assert!(warning.contains("names unknown"), "{warning}");
        assert!(warning.contains("small.tar.gz"), "{warning}");
    }
}

#[test]
fn a_damaged_length_field_or_lost_bytes_are_searched_past() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shifted.tar.gz");
    let expected = bundle_of(&path, 6, 200_000);
    let clean = fs::read(&path).unwrap();
    let list = members(&clean);
    let bad = list[list.len() / 2];

    let mut long_length = clean.clone();
    long_length[bad.offset + 16] ^= 0x40;
    let mut lost_bytes = clean.clone();
    lost_bytes.drain(bad.offset + 100..bad.offset + 150);
    let mut extra_bytes = clean.clone();
    let middle = bad.offset + bad.len / 2;
    extra_bytes.splice(middle..middle, [0xa5u8; 33]);
    let mut zeroed_header = clean.clone();
    zeroed_header[bad.offset..bad.offset + 18].fill(0);

    for (what, bytes) in [
        ("a damaged BSIZE", long_length),
        ("50 bytes lost", lost_bytes),
        ("33 bytes inserted", extra_bytes),
        ("a zeroed header", zeroed_header),
    ] {
        fs::write(&path, &bytes).unwrap();
        for threads in [1, 2] {
            let pass = read_with(&path, threads);
            let summary = pass
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{what}, threads {threads}: {e}"));
            assert_delivered_exactly(&pass, &expected);
            assert!(pass.manifest, "{what}: the manifest is read");
            // One 200 kB entry spans about four members: at most two entries are touched.
            assert!(
                pass.whole.len() >= 6,
                "{what}: {} entries",
                pass.whole.len()
            );
            assert!(
                summary.warnings.iter().any(|w| w.contains("shifted.tar.gz")
                    && w.contains(&format!("compressed byte {}", bad.offset))),
                "{what}: {:?}",
                summary.warnings
            );
        }
    }
}

#[test]
fn junk_after_the_damage_is_searched_only_so_far() {
    // A damaged member, then 70 MiB of well-formed members holding zeros (no tar header), then
    // a good entry: the search gives up at its bound, quickly, and says so.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.tar.gz");
    bundle_of(&path, 3, 100_000);
    let clean = fs::read(&path).unwrap();
    let list = members(&clean);
    let mut bytes = clean[..list[1].offset].to_vec();
    let mut bad = clean[list[1].offset..list[1].offset + list[1].len].to_vec();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    bytes.extend_from_slice(&bad);
    let zeros = bgzf_member(&[0u8; 65280]);
    for _ in 0..(70 << 20) / 65280 {
        bytes.extend_from_slice(&zeros);
    }
    bytes.extend_from_slice(&clean[list[2].offset..]);
    fs::write(&path, &bytes).unwrap();
    let pass = read_with(&path, 2);
    let err = pass.result.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, BundleError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains("junk.tar.gz") && msg.contains("no tar header found in the"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("compressed byte {}", list[1].offset)),
        "{msg}"
    );
    assert!(pass.elapsed < Duration::from_secs(60), "{:?}", pass.elapsed);
}

#[test]
fn damage_at_the_very_end_after_the_manifest_is_only_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail.tar.gz");
    let mut writer = BundleWriter::create(&path, "top").unwrap();
    writer
        .add_bytes("hosts/s/files/a.log", &noise(1, 100_000))
        .unwrap();
    writer.finish(&sample_manifest(vec![])).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let entries = tar_entries(&path);
    let manifest = entries.last().unwrap();
    assert_eq!(manifest.name, "manifest.json");
    let list = members(&bytes);
    // The tar's end-of-archive blocks sit after the manifest; append a member holding only
    // zeros of that end, damaged, by damaging the last data member when it starts after the
    // manifest's data (else append one).
    let tail_start = manifest.data_at + manifest.size.div_ceil(512) * 512;
    let eof = list.last().unwrap().offset;
    let last_data = list[list.len() - 2];
    if last_data.tar_start >= tail_start {
        garble(&mut bytes, last_data);
    } else {
        let mut end = bgzf_member(&[0u8; 4096]);
        let middle = end.len() / 2;
        end[middle] ^= 0xff;
        bytes.splice(eof..eof, end);
    }
    fs::write(&path, &bytes).unwrap();
    let pass = read_with(&path, 1);
    assert!(pass.manifest);
    let summary = pass.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        summary.warnings.iter().any(|w| w.contains("tail.tar.gz")),
        "{:?}",
        summary.warnings
    );
}

/// One BGZF member holding `data` (as in the SAM/BAM specification, 4.1).
fn bgzf_member(data: &[u8]) -> Vec<u8> {
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(data).unwrap();
    let cdata = deflate.finish().unwrap();
    let mut out = vec![
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
    ];
    out.extend_from_slice(&((cdata.len() + 25) as u16).to_le_bytes());
    out.extend_from_slice(&cdata);
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}
