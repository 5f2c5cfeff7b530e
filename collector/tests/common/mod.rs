//! A simulated datacenter for the collector's end-to-end tests: made by the real `triton-sim`,
//! answered by the real `triton-fake` commands, collected by the real `triton-collect` binary.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use triton_bundle::manifest::{Item, Manifest};
use triton_bundle::Bundle;

pub const SCENARIO: &str = "kvm-qemu-out-of-memory";

pub fn collect_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_triton-collect"))
}

/// One simulated datacenter in a temporary directory.
pub struct Dc {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub expected: Value,
}

impl Dc {
    pub fn create() -> Dc {
        Dc::with_scenario(SCENARIO)
    }

    /// A datacenter of another `triton-sim` scenario (seed 1).
    pub fn with_scenario(scenario: &str) -> Dc {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("dc");
        let expected = triton_test_support::create_datacenter(scenario, 1, &dir, &[]);
        Dc { tmp, dir, expected }
    }

    pub fn cn_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.join("cn"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    pub fn provision(&self) -> &Value {
        &self.expected["provisions"][0]
    }

    pub fn vm(&self) -> String {
        self.provision()["vm_uuid"]
            .as_str()
            .expect("vm_uuid")
            .to_string()
    }

    pub fn job(&self) -> String {
        self.provision()["job_uuid"]
            .as_str()
            .expect("job_uuid")
            .to_string()
    }

    pub fn cn(&self) -> String {
        self.provision()["server_uuid"]
            .as_str()
            .expect("server_uuid")
            .to_string()
    }

    pub fn headnode(&self) -> String {
        self.expected["headnode"]
            .as_str()
            .expect("headnode")
            .to_string()
    }

    pub fn out(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Runs the collector as on the headnode (`. DIR/env.sh; triton-collect --root DIR/hn ...`).
    pub fn collect(&self, args: &[&str]) -> Output {
        triton_test_support::headnode_collector(&collect_bin(), &self.dir)
            .args(args)
            .output()
            .expect("run triton-collect")
    }

    /// Edits `DIR/sim/state.json` (the contract the fake commands answer from).
    pub fn edit_state(&self, edit: impl FnOnce(&mut Value)) {
        let path = self.dir.join("sim/state.json");
        let mut state: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
        edit(&mut state);
        std::fs::write(&path, serde_json::to_vec_pretty(&state).expect("json"))
            .expect("write state");
    }

    /// The compute node entry of `state.json` with this server uuid.
    pub fn edit_cn(&self, server: &str, edit: impl FnOnce(&mut Value)) {
        let server = server.to_string();
        self.edit_state(|state| {
            let cn = state["compute_nodes"]
                .as_array_mut()
                .expect("compute_nodes")
                .iter_mut()
                .find(|h| h["server_uuid"] == server.as_str())
                .expect("cn in state");
            edit(cn);
        });
    }
}

/// A written bundle, read back with the bundle crate's reader.
pub struct ReadBundle {
    pub entries: BTreeMap<String, Vec<u8>>,
    pub manifest: Manifest,
}

impl ReadBundle {
    pub fn open(path: &Path) -> ReadBundle {
        let mut bundle =
            Bundle::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut entries = BTreeMap::new();
        bundle
            .for_each_entry(&mut |entry| {
                let mut data = Vec::new();
                std::io::Read::read_to_end(entry, &mut data).expect("read entry");
                entries.insert(entry.path().to_string(), data);
                Ok(())
            })
            .expect("read bundle");
        let manifest = bundle.manifest().cloned().expect("manifest");
        ReadBundle { entries, manifest }
    }

    pub fn text(&self, path: &str) -> String {
        String::from_utf8_lossy(
            self.entries
                .get(path)
                .unwrap_or_else(|| panic!("{path} not in bundle")),
        )
        .to_string()
    }

    pub fn items(&self, source: &str) -> Vec<&Item> {
        self.manifest
            .items
            .iter()
            .filter(|i| i.source == source)
            .collect()
    }

    /// Whether any stored byte sequence contains `needle`.
    pub fn contains_anywhere(&self, needle: &str) -> bool {
        self.entries
            .values()
            .any(|d| String::from_utf8_lossy(d).contains(needle))
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}
