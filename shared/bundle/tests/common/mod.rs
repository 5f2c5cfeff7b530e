//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod archive;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use triton_bundle::manifest::{Collector, HostInfo, HostRole, Item, Origin, Scope};
use triton_bundle::{Bundle, BundleError, Manifest, ReadSummary};

pub const SERVER: &str = "44454c4c-5700-1047-8051-b3c04f585131";

pub fn sample_manifest(items: Vec<Item>) -> Manifest {
    Manifest {
        format: "triton-support-bundle".into(),
        format_version: triton_bundle::format::current_version(),
        collector: Collector {
            name: "triton-collect".into(),
            version: "0.1.0".into(),
            argv: vec!["triton-collect".into(), "--vm".into(), "abc".into()],
            redacted: true,
        },
        started_at: "2024-05-01T10:00:00Z".into(),
        finished_at: "2024-05-01T10:01:00Z".into(),
        complete: true,
        scope: Scope::default(),
        hosts: vec![HostInfo {
            role: HostRole::Headnode,
            hostname: "headnode".into(),
            server_uuid: SERVER.into(),
            platform_image: Some("20240501T000000Z".into()),
            core_zones: vec![],
            error: None,
        }],
        items,
        notes: vec![],
    }
}

pub fn file_item(path: &str, bytes: u64, sha256: &str) -> Item {
    Item {
        source: "vmapi.log".into(),
        host: Some(SERVER.into()),
        path: Some(path.into()),
        origin: Origin::File {
            path: "/var/log/vmapi.log".into(),
        },
        exit_status: None,
        http_status: None,
        duration_ms: 3,
        bytes,
        original_bytes: Some(bytes),
        sha256: Some(sha256.into()),
        sliced: false,
        truncated: false,
        slice: None,
        changed_while_read: None,
        timed_out: false,
        redactions: BTreeMap::new(),
        error: None,
    }
}

/// Reads every entry into memory (tests only use small bundles with this).
pub fn read_all(
    bundle: &mut Bundle,
) -> Result<(BTreeMap<String, Vec<u8>>, ReadSummary), BundleError> {
    let mut entries = BTreeMap::new();
    let summary = bundle.for_each_entry(&mut |entry| {
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry data");
        assert_eq!(data.len() as u64, entry.size(), "size of {}", entry.path());
        assert!(
            entries.insert(entry.path().to_string(), data).is_none(),
            "duplicate"
        );
        Ok(())
    })?;
    Ok((entries, summary))
}

/// Entries as delivered: name and content.
pub type Delivered = Vec<(String, Vec<u8>)>;

/// Entries in delivery order, with whatever error ended the pass.
pub fn read_ordered(path: &Path) -> (Delivered, Result<ReadSummary, BundleError>) {
    let mut entries = Vec::new();
    let result = Bundle::open(path).and_then(|mut bundle| {
        bundle.for_each_entry(&mut |entry| {
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| BundleError::Unsupported {
                    path: path.to_path_buf(),
                    what: e.to_string(),
                })?;
            entries.push((entry.path().to_string(), data));
            Ok(())
        })
    });
    (entries, result)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic data that does not compress (xorshift), produced without holding it in memory.
pub struct NoiseReader {
    state: u64,
    left: u64,
}

impl NoiseReader {
    pub fn new(seed: u64, len: u64) -> Self {
        NoiseReader {
            state: seed | 1,
            left: len,
        }
    }
}

impl Read for NoiseReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.left.min(buf.len() as u64)) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let bytes = self.state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len);
    NoiseReader::new(seed, len as u64)
        .read_to_end(&mut data)
        .expect("noise");
    data
}

pub fn run(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
