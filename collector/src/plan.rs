//! The plan: what to collect on this host, as data the runner executes and `--dry-run` prints.

use crate::file_change::FileStamp;
pub use crate::slice::LogFormat;
use crate::window::TimeWindow;

/// Ordering class: cheap sources run first, so a deadline loses the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cost {
    /// Small commands and files.
    Cheap,
    /// Live logs.
    Medium,
    /// Rotated logs, archives, pool-wide commands.
    Expensive,
}

/// One thing to collect.
#[derive(Debug, Clone)]
pub struct Task {
    /// Logical source name for the manifest, e.g. `vmapi.log`, `vm.log`, `zpool.history`.
    pub source: String,
    pub cost: Cost,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Copy a file of this host. Symlinks may not leave `within` (an absolute host path; `/`
    /// for global-zone files). A time-ordered log is cut to the window by record time.
    File {
        path: String,
        within: String,
        format: LogFormat,
        /// The file as the plan's directory listing saw it, so a file rotated before it is
        /// copied is noticed (none: the path was not listed).
        listed: Option<FileStamp>,
    },
    /// Run a command on this host; output stored as `hosts/<uuid>/commands/<name>.out`.
    Command {
        argv: Vec<String>,
        name: String,
        filter: Option<OutputFilter>,
        /// Stderr text meaning "the object asked about does not exist" (not a failure).
        absent_when: &'static [&'static str],
    },
    /// Nothing to collect, but the manifest should say why (a directory that is not there, a
    /// listing refused).
    Note { path: String, error: String },
}

/// Keeps only the relevant lines of a long command output.
#[derive(Debug, Clone)]
pub enum OutputFilter {
    /// `zpool history`: pool headers, records naming a VM or image in scope or a `-partial`
    /// dataset, and records inside the window.
    ZpoolHistory {
        needles: Vec<String>,
        window: TimeWindow,
    },
}

impl Task {
    pub fn file(source: &str, cost: Cost, path: impl Into<String>, within: &str) -> Task {
        Task {
            source: source.to_string(),
            cost,
            action: Action::File {
                path: path.into(),
                within: within.to_string(),
                format: LogFormat::Whole,
                listed: None,
            },
        }
    }

    pub fn command(source: &str, cost: Cost, name: impl Into<String>, argv: &[&str]) -> Task {
        Task {
            source: source.to_string(),
            cost,
            action: Action::Command {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                name: name.into(),
                filter: None,
                absent_when: &[],
            },
        }
    }

    pub fn note(source: &str, path: impl Into<String>, error: impl Into<String>) -> Task {
        Task {
            source: source.to_string(),
            cost: Cost::Cheap,
            action: Action::Note {
                path: path.into(),
                error: error.into(),
            },
        }
    }

    pub fn with_absent_when(mut self, markers: &'static [&'static str]) -> Task {
        if let Action::Command { absent_when, .. } = &mut self.action {
            *absent_when = markers;
        }
        self
    }

    /// Records how the directory listing saw the file (a regular file; links are not stamped,
    /// since what they lead to is only known when opened).
    pub fn listed_as(mut self, meta: &std::fs::Metadata) -> Task {
        if let Action::File { listed, .. } = &mut self.action {
            *listed = meta.file_type().is_file().then(|| FileStamp::of(meta));
        }
        self
    }

    /// Marks a file task as a log cut to the window by record time.
    pub fn time_sliced(mut self, log_format: LogFormat) -> Task {
        if let Action::File { format, .. } = &mut self.action {
            *format = log_format;
        }
        self
    }

    pub fn with_filter(mut self, new_filter: OutputFilter) -> Task {
        if let Action::Command { filter, .. } = &mut self.action {
            *filter = Some(new_filter);
        }
        self
    }

    /// What makes two tasks the same (the same file or command is collected once).
    pub fn key(&self) -> String {
        match &self.action {
            Action::File { path, .. } => format!("file:{path}"),
            Action::Command { name, .. } => format!("command:{name}"),
            Action::Note { path, .. } => format!("note:{}:{path}", self.source),
        }
    }
}

/// Orders tasks cheap-first (stable within a class) and drops repeats.
pub fn order(tasks: Vec<Task>) -> Vec<Task> {
    let mut seen = std::collections::HashSet::new();
    let mut unique: Vec<Task> = tasks.into_iter().filter(|t| seen.insert(t.key())).collect();
    unique.sort_by_key(|t| t.cost);
    unique
}

/// `zpool history` line filter (see [`OutputFilter::ZpoolHistory`]).
pub fn zpool_history_keeps(line: &[u8], needles: &[String], window: &TimeWindow) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return true;
    };
    if text.starts_with("History for") || text.trim().is_empty() {
        return true;
    }
    if text.contains("-partial") || needles.iter().any(|n| text.contains(n.as_str())) {
        return true;
    }
    // `2024-01-18.04:00:00 zfs ...` (the SmartOS global zone runs in UTC).
    let stamp = text.split_whitespace().next().unwrap_or("");
    match stamp.replacen('.', "T", 1).parse::<jiff::civil::DateTime>() {
        Ok(dt) => jiff::tz::TimeZone::UTC
            .to_timestamp(dt)
            .map(|ts| window.contains(ts))
            .unwrap_or(true),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_cheap_first_and_dedups() {
        let tasks = vec![
            Task::file("a", Cost::Expensive, "/x", "/"),
            Task::command("b", Cost::Cheap, "sysinfo", &["sysinfo"]),
            Task::file("c", Cost::Medium, "/y", "/"),
            Task::file("d", Cost::Cheap, "/x", "/"),
        ];
        let ordered = order(tasks);
        let sources: Vec<&str> = ordered.iter().map(|t| t.source.as_str()).collect();
        assert_eq!(sources, vec!["b", "c", "a"]);
    }

    #[test]
    fn zpool_history_filter() {
        let window = TimeWindow {
            since: "2024-01-18T04:00:00Z".parse().expect("ts"),
            until: "2024-01-18T05:00:00Z".parse().expect("ts"),
            derived_from: "test".into(),
        };
        let needles = vec!["8f1f3c9e-2a5b-4c1d-9e0f-123456789abc".to_string()];
        let keeps = |l: &str| zpool_history_keeps(l.as_bytes(), &needles, &window);
        assert!(keeps("History for 'zones':"));
        assert!(keeps(
            "2023-01-01.00:00:00 zfs create zones/8f1f3c9e-2a5b-4c1d-9e0f-123456789abc"
        ));
        assert!(keeps("2023-01-01.00:00:00 zfs receive zones/aaaa-partial"));
        assert!(keeps("2024-01-18.04:30:00 zfs set quota=5g zones/other"));
        assert!(!keeps("2023-01-01.00:00:00 zfs set quota=5g zones/other"));
    }
}
