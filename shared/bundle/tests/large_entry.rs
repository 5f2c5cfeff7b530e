//! A 50 MB entry goes through writer and reader without being held in memory.
//! (Its own test binary, so the peak-memory reading is not disturbed by other tests.)

mod common;

use std::io::Read;

use common::*;
use sha2::{Digest, Sha256};
use triton_bundle::{Bundle, BundleWriter};

const SIZE: u64 = 50 * 1024 * 1024;

/// Peak resident memory of this process so far, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn fifty_megabytes_round_trip_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.tar.gz");
    let before = peak_rss_kib();

    let mut writer = BundleWriter::create(&path, "top").unwrap();
    let added = writer
        .add_reader(
            "hosts/s/files/big.bin",
            SIZE,
            &mut NoiseReader::new(11, SIZE),
        )
        .unwrap();
    assert_eq!((added.bytes, added.short_by), (SIZE, 0));
    writer.add_bytes("after.txt", b"after").unwrap();
    writer.finish(&sample_manifest(vec![])).unwrap();

    let mut expected = Sha256::new();
    let mut source = NoiseReader::new(11, SIZE);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = source.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        expected.update(&buf[..n]);
    }
    let expected = hex::encode(expected.finalize());
    assert_eq!(added.sha256, expected);

    let mut bundle = Bundle::open(&path).unwrap();
    let mut seen = Vec::new();
    bundle
        .for_each_entry(&mut |entry| {
            let mut hasher = Sha256::new();
            let mut buf = [0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = entry.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            seen.push((
                entry.path().to_string(),
                total,
                hex::encode(hasher.finalize()),
            ));
            Ok(())
        })
        .unwrap();
    let big = seen
        .iter()
        .find(|(p, _, _)| p == "hosts/s/files/big.bin")
        .unwrap();
    assert_eq!((big.1, big.2.as_str()), (SIZE, expected.as_str()));
    assert!(seen.iter().any(|(p, _, _)| p == "after.txt"));

    let grown_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    eprintln!(
        "peak memory growth: {grown_mib} MiB for a {} MiB entry",
        SIZE >> 20
    );
    assert!(grown_mib < 25, "memory grew by {grown_mib} MiB");
}
