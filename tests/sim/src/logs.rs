//! Log streams collected while a scenario's story is told, and how they land on disk.
//!
//! Records are added in any order with the time they were logged (in the host's own clock). At
//! the end each stream is sorted by time and split into the files the real rotation would have
//! produced (hourly logadm copies, merged cn-agent task logs), so a record's file and line number
//! are known only then. Records that are evidence of a diagnosis carry an [`EvTag`] and are
//! turned into exact `(path, line)` pairs after the split.

use std::collections::BTreeMap;

use crate::clock::{self, Ms, HOUR};

/// Marks one line of a record as evidence for a provision.
#[derive(Debug, Clone)]
pub struct EvTag {
    /// The provision (vm uuid) this is evidence for.
    pub vm: String,
    /// Text the line contains.
    pub contains: String,
    /// Line inside a multi-line record (0 = first line).
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub t: Ms,
    pub seq: u64,
    /// One or more lines, without the final newline.
    pub text: String,
    pub ev: Vec<EvTag>,
}

/// Where a log goes when it is rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Never rotated (or rotated by size only, which a scenario window never reaches).
    None,
    /// Core-zone logadm + postlogrotate: `<dir>/<name>_<nodename>_<YYYY-MM-DDTHH>:00:00.log`,
    /// `dir` being the zone's `/var/log/sdc/upload` seen from the global zone.
    Upload {
        dir: String,
        name: String,
        nodename: String,
    },
    /// Agent logadm in a CN global zone: `<dir>/<name>_<nodename>_<%FT%H:%M:%S>.log`, stamped
    /// when the hourly cron job ran (a second or two after the hour).
    Agent {
        dir: String,
        name: String,
        nodename: String,
    },
    /// One task's own log (`/var/log/cn-agent/logs/<ms>-<pid>-<task>.log`); once finished before
    /// the last hourly run it has been merged into `<dir>/<merged>` and from there rotated to
    /// `<dir>/<name>_<nodename>_<%FT%H:%M:%S>.log`.
    TaskMerge {
        dir: String,
        merged: String,
        name: String,
        nodename: String,
    },
}

#[derive(Debug, Clone)]
pub struct Stream {
    /// Directory of the host tree (`hn`, `cn/<uuid>`).
    pub root: String,
    pub server_uuid: String,
    /// Live path on the host.
    pub path: String,
    pub rotation: Rotation,
    /// "Now" in the host's clock, which decides what has been rotated.
    pub now: Ms,
    pub entries: Vec<Entry>,
}

/// A file as it will be written.
#[derive(Debug, Default)]
pub struct RenderedFile {
    pub root: String,
    pub server_uuid: String,
    pub path: String,
    pub entries: Vec<Entry>,
    pub gzip: bool,
}

/// Evidence resolved to a file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvidence {
    pub vm: String,
    pub server_uuid: String,
    pub path: String,
    pub line: usize,
    pub contains: String,
}

/// All streams of a datacenter, keyed by (host root, live path) so iteration order is stable.
#[derive(Debug, Default)]
pub struct Logs {
    streams: BTreeMap<(String, String), Stream>,
    seq: u64,
}

impl Logs {
    /// Declares a stream (idempotent: a second call keeps the first declaration).
    pub fn declare(
        &mut self,
        root: &str,
        server_uuid: &str,
        path: &str,
        rotation: Rotation,
        now: Ms,
    ) {
        self.streams
            .entry((root.to_string(), path.to_string()))
            .or_insert_with(|| Stream {
                root: root.to_string(),
                server_uuid: server_uuid.to_string(),
                path: path.to_string(),
                rotation,
                now,
                entries: Vec::new(),
            });
    }

    pub fn has(&self, root: &str, path: &str) -> bool {
        self.streams
            .contains_key(&(root.to_string(), path.to_string()))
    }

    /// Adds a record; the stream must have been declared.
    pub fn push(&mut self, root: &str, path: &str, t: Ms, text: String) {
        self.push_ev(root, path, t, text, Vec::new());
    }

    pub fn push_ev(&mut self, root: &str, path: &str, t: Ms, text: String, ev: Vec<EvTag>) {
        self.seq += 1;
        let seq = self.seq;
        match self.streams.get_mut(&(root.to_string(), path.to_string())) {
            Some(stream) => stream.entries.push(Entry { t, seq, text, ev }),
            None => panic!("log stream {root}:{path} used before it was declared"),
        }
    }

    /// The records of one stream so far, for a story that changes what was already logged
    /// (a restarted service logs with a new pid from then on).
    pub fn entries_mut(&mut self, root: &str, path: &str) -> Option<&mut Vec<Entry>> {
        self.streams
            .get_mut(&(root.to_string(), path.to_string()))
            .map(|s| &mut s.entries)
    }

    pub fn streams(&self) -> impl Iterator<Item = &Stream> {
        self.streams.values()
    }

    /// Splits every stream into its on-disk files.
    pub fn render(self) -> Vec<RenderedFile> {
        let mut files: BTreeMap<(String, String), RenderedFile> = BTreeMap::new();
        let mut rotated_sets: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for stream in self.streams.into_values() {
            let boundary = clock::hour_floor(stream.now);
            match &stream.rotation {
                Rotation::None => {
                    add_entries(&mut files, &stream, &stream.path, stream.entries.clone());
                }
                Rotation::Upload { .. } | Rotation::Agent { .. } => {
                    let mut by_file: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
                    by_file.entry(stream.path.clone()).or_default();
                    for entry in stream.entries.iter().cloned() {
                        let path = if entry.t >= boundary {
                            stream.path.clone()
                        } else {
                            rotated_path(&stream.rotation, clock::hour_floor(entry.t) + HOUR)
                        };
                        by_file.entry(path).or_default().push(entry);
                    }
                    for (path, entries) in by_file {
                        if path != stream.path {
                            rotated_sets
                                .entry((stream.root.clone(), stream.path.clone()))
                                .or_default()
                                .push(path.clone());
                        }
                        add_entries(&mut files, &stream, &path, entries);
                    }
                }
                Rotation::TaskMerge { dir, merged, .. } => {
                    let finished = stream.entries.iter().map(|e| e.t).max().unwrap_or(0);
                    let path = if finished >= boundary {
                        stream.path.clone()
                    } else if finished >= boundary - HOUR {
                        format!("{dir}/{merged}")
                    } else {
                        rotated_path(&stream.rotation, clock::hour_floor(finished) + 2 * HOUR)
                    };
                    add_entries(&mut files, &stream, &path, stream.entries.clone());
                }
            }
        }
        // The oldest hour of every rotated log is kept compressed (as an operator's cleanup or
        // an upload job leaves it), unless it holds evidence a test points into.
        for ((root, _), mut paths) in rotated_sets {
            paths.sort();
            if paths.len() < 3 {
                continue;
            }
            if let Some(file) = files.get_mut(&(root, paths[0].clone())) {
                if file.entries.iter().all(|e| e.ev.is_empty()) {
                    file.gzip = true;
                }
            }
        }
        let mut out: Vec<RenderedFile> = files.into_values().collect();
        for file in &mut out {
            file.entries.sort_by_key(|e| (e.t, e.seq));
            if file.gzip {
                file.path.push_str(".gz");
            }
        }
        out
    }
}

fn add_entries(
    files: &mut BTreeMap<(String, String), RenderedFile>,
    stream: &Stream,
    path: &str,
    entries: Vec<Entry>,
) {
    let file = files
        .entry((stream.root.clone(), path.to_string()))
        .or_insert_with(|| RenderedFile {
            root: stream.root.clone(),
            server_uuid: stream.server_uuid.clone(),
            path: path.to_string(),
            entries: Vec::new(),
            gzip: false,
        });
    file.entries.extend(entries);
}

/// The rotated file name for a rotation that ran at `ran_at` (top of an hour).
pub fn rotated_path(rotation: &Rotation, ran_at: Ms) -> String {
    match rotation {
        Rotation::None => String::new(),
        Rotation::Upload {
            dir,
            name,
            nodename,
        } => format!("{dir}/{name}_{nodename}_{}", upload_stamp(ran_at)),
        Rotation::Agent {
            dir,
            name,
            nodename,
        }
        | Rotation::TaskMerge {
            dir,
            name,
            nodename,
            ..
        } => {
            // The CN's hourly cron runs logadm a moment after the hour; the stamp is not snapped.
            let delay = (nodename.len() as i64 % 3) * 1000 + 1000;
            format!(
                "{dir}/{name}_{nodename}_{}.log",
                clock::logadm_stamp(ran_at + delay)
            )
        }
    }
}

/// `YYYY-MM-DDTHH:00:00.log` as postlogrotate.sh leaves it.
pub fn upload_stamp(ran_at: Ms) -> String {
    let stamp = clock::logadm_stamp(clock::hour_floor(ran_at));
    format!("{stamp}.log")
}

impl RenderedFile {
    /// The file's text and the evidence it carries, with 1-based line numbers.
    pub fn text_and_evidence(&self) -> (String, Vec<FileEvidence>) {
        let mut text = String::new();
        let mut evidence = Vec::new();
        let mut line = 0usize;
        for entry in &self.entries {
            for tag in &entry.ev {
                evidence.push(FileEvidence {
                    vm: tag.vm.clone(),
                    server_uuid: self.server_uuid.clone(),
                    path: self.path.clone(),
                    line: line + 1 + tag.line,
                    contains: tag.contains.clone(),
                });
            }
            text.push_str(&entry.text);
            text.push('\n');
            line += entry.text.split('\n').count();
        }
        (text, evidence)
    }
}
