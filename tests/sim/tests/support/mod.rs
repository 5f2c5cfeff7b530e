//! Helpers shared by the integration tests: generate a scenario into a temporary directory and
//! walk the result.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct Generated {
    pub dir: tempfile::TempDir,
    pub expected: Value,
    pub state: Value,
}

impl Generated {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Root directory of a host's tree.
    pub fn host_root(&self, server_uuid: &str) -> PathBuf {
        let hn = self.state["headnode"]["server_uuid"]
            .as_str()
            .unwrap_or_default();
        if server_uuid == hn {
            self.path().join("hn")
        } else {
            self.path().join("cn").join(server_uuid)
        }
    }
}

pub fn generate(scenario: &str, variant: Option<&str>, seed: u64) -> Generated {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = triton_sim::CreateOptions {
        scenario: scenario.to_string(),
        variant: variant.map(str::to_string),
        seed,
        scale: 0,
        out: dir.path().to_path_buf(),
    };
    triton_sim::create(&opts).unwrap_or_else(|e| panic!("create {scenario}: {e:#}"));
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let expected = read("expected.json");
    let state = read("sim/state.json");
    Generated {
        dir,
        expected,
        state,
    }
}

/// Every regular file (not following symlinks), sorted, relative to `root`.
pub fn files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
        .collect();
    out.sort();
    out
}

pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| {
            p.len() == *n
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.chars().all(|c| c.is_ascii_digit())
}

/// `^[a-z0-9-]+_[0-9a-f-]{36}_\d{4}-\d{2}-\d{2}T\d{2}:00:00\.log$`
pub fn is_upload_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(":00:00.log") else {
        return false;
    };
    let mut parts = stem.splitn(3, '_');
    let (Some(service), Some(node), Some(stamp)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let service_ok = !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let node_ok = node.len() == 36
        && node
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase() || c == '-');
    let stamp_ok = stamp.len() == 13
        && digits(&stamp[0..4], 4)
        && &stamp[4..5] == "-"
        && digits(&stamp[5..7], 2)
        && &stamp[7..8] == "-"
        && digits(&stamp[8..10], 2)
        && &stamp[10..11] == "T"
        && digits(&stamp[11..13], 2);
    service_ok && node_ok && stamp_ok
}

/// `<13-digit ms>-<pid>-<task>.log`
pub fn is_task_log_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".log") else {
        return false;
    };
    let mut parts = stem.splitn(3, '-');
    let (Some(ms), Some(pid), Some(task)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    digits(ms, 13)
        && !pid.is_empty()
        && pid.chars().all(|c| c.is_ascii_digit())
        && !task.is_empty()
        && task.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}
