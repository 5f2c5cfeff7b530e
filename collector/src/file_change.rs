//! Noticing that a file changed while it was collected: between being listed (when the plan was
//! made) and being opened, or while it was read.
//!
//! Logs rotate under a running collection: renamed away with a fresh file put in their place
//! (`vm.log` to `vm.log.0` at each qemu start, logadm without `-c`), or copied and cut back to
//! nothing in place (logadm `-c`, the core zones' hourly rotation into `/var/log/sdc/upload/`);
//! and live logs grow all the time. The copy in the bundle is always one file's bytes, read from
//! one open descriptor; what is found here goes into the manifest item, so nobody takes the copy
//! for more than it is.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

/// What identifies a file and its state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
}

impl FileStamp {
    pub fn of(meta: &Metadata) -> FileStamp {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }

    pub fn same_file(&self, other: &FileStamp) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// One way a file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Another file was at the path when it was opened than when it was listed; `renamed_to`
    /// is where the listed file was found afterwards (then collected as its own item).
    ReplacedSinceListed {
        listed_size: u64,
        renamed_to: Option<String>,
    },
    /// The same file, smaller when opened than when listed: cut back in place (copy-truncate).
    CutSinceListed { listed_size: u64, opened_size: u64 },
    /// Smaller after the read than when opened, or modified without growing: the bytes read may
    /// mix what it held before and after.
    RewrittenWhileRead { opened_size: u64, after_size: u64 },
    /// Grew during the read (a live log): the copy is the file as it was when opened.
    GrewWhileRead { opened_size: u64, after_size: u64 },
    /// Its path names another file after the read (`Some(size)` of that file), or nothing.
    ReplacedWhileRead { now: Option<u64> },
}

impl Change {
    /// Whether content the file held when listed or opened may be missing from the copy.
    pub fn loses_records(&self) -> bool {
        matches!(
            self,
            Change::ReplacedSinceListed {
                renamed_to: None,
                ..
            } | Change::CutSinceListed { .. }
                | Change::RewrittenWhileRead { .. }
        )
    }

    /// Whether the copy may hold bytes of two contents, so it must be read again.
    pub fn needs_reread(&self) -> bool {
        matches!(self, Change::RewrittenWhileRead { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Change::ReplacedSinceListed {
                listed_size,
                renamed_to: None,
            } => format!(
                "replaced between listing and copying (rotated?): the copy is of the file found \
                 at copy time; the file listed ({listed_size} bytes) was moved away or removed, \
                 and is not in this directory any more"
            ),
            Change::ReplacedSinceListed {
                listed_size,
                renamed_to: Some(path),
            } => format!(
                "replaced between listing and copying (rotated): the copy is of the file found \
                 at copy time; the file listed ({listed_size} bytes) is now {path}, collected \
                 as its own item"
            ),
            Change::CutSinceListed {
                listed_size,
                opened_size,
            } => format!(
                "cut from {listed_size} to {opened_size} bytes between listing and copying \
                 (copy-truncate rotation?): the copy is of what it held at copy time"
            ),
            Change::RewrittenWhileRead {
                opened_size,
                after_size,
            } => format!(
                "rewritten while being read ({opened_size} bytes when opened, {after_size} after)"
            ),
            Change::GrewWhileRead {
                opened_size,
                after_size,
            } => format!(
                "grew from {opened_size} to {after_size} bytes while being read: the copy is of \
                 the first {opened_size}"
            ),
            Change::ReplacedWhileRead { now: Some(size) } => format!(
                "replaced while being read (rotated?): the copy is of the file as opened; the \
                 file now at this path ({size} bytes, written since) was not collected"
            ),
            Change::ReplacedWhileRead { now: None } => {
                "removed while being read: the copy is of the file as opened".to_string()
            }
        }
    }
}

/// The changes the stamps show: `listed` when the plan was made (if the file was listed),
/// `opened` and `after` from the open descriptor before and after the read, `at_path` what the
/// path names after the read (`None`: nothing).
pub fn changes(
    listed: Option<FileStamp>,
    opened: FileStamp,
    after: FileStamp,
    at_path: Option<FileStamp>,
) -> Vec<Change> {
    let mut found = Vec::new();
    if let Some(listed) = listed {
        if !listed.same_file(&opened) {
            found.push(Change::ReplacedSinceListed {
                listed_size: listed.size,
                renamed_to: None,
            });
        } else if opened.size < listed.size {
            found.push(Change::CutSinceListed {
                listed_size: listed.size,
                opened_size: opened.size,
            });
        }
    }
    if after.size < opened.size || (after.size == opened.size && after.mtime_ns != opened.mtime_ns)
    {
        found.push(Change::RewrittenWhileRead {
            opened_size: opened.size,
            after_size: after.size,
        });
    } else if after.size > opened.size {
        found.push(Change::GrewWhileRead {
            opened_size: opened.size,
            after_size: after.size,
        });
    }
    match at_path {
        None => found.push(Change::ReplacedWhileRead { now: None }),
        Some(now) if !now.same_file(&opened) => {
            found.push(Change::ReplacedWhileRead {
                now: Some(now.size),
            });
        }
        Some(_) => {}
    }
    found
}

/// All the changes, in words.
pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(Change::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(ino: u64, size: u64, mtime_ns: i128) -> FileStamp {
        FileStamp {
            dev: 1,
            ino,
            size,
            mtime_ns,
        }
    }

    #[test]
    fn tells_each_kind_of_change() {
        let file = stamp(7, 100, 5);
        assert!(changes(Some(file), file, file, Some(file)).is_empty());
        // A live log growing after it was listed is no change: it is read as opened.
        assert!(changes(
            Some(file),
            stamp(7, 150, 6),
            stamp(7, 150, 6),
            Some(stamp(7, 150, 6))
        )
        .is_empty());

        let renamed = changes(
            Some(file),
            stamp(9, 10, 8),
            stamp(9, 10, 8),
            Some(stamp(9, 10, 8)),
        );
        assert_eq!(
            renamed,
            [Change::ReplacedSinceListed {
                listed_size: 100,
                renamed_to: None
            }]
        );
        assert!(renamed[0].loses_records() && !renamed[0].needs_reread());
        let found = Change::ReplacedSinceListed {
            listed_size: 100,
            renamed_to: Some("/var/log/x.log.0".into()),
        };
        assert!(!found.loses_records());
        assert!(found.describe().contains("/var/log/x.log.0"));

        let truncated = changes(
            Some(file),
            stamp(7, 10, 8),
            stamp(7, 10, 8),
            Some(stamp(7, 10, 8)),
        );
        assert_eq!(
            truncated,
            [Change::CutSinceListed {
                listed_size: 100,
                opened_size: 10
            }]
        );

        let grew = changes(None, file, stamp(7, 120, 9), Some(stamp(7, 120, 9)));
        assert_eq!(
            grew,
            [Change::GrewWhileRead {
                opened_size: 100,
                after_size: 120
            }]
        );
        assert!(!grew[0].loses_records());

        let cut = changes(None, file, stamp(7, 40, 9), Some(stamp(7, 40, 9)));
        assert!(cut[0].needs_reread() && cut[0].loses_records());
        let rewritten = changes(None, file, stamp(7, 100, 9), Some(stamp(7, 100, 9)));
        assert!(rewritten[0].needs_reread());

        let rotated = changes(None, file, file, Some(stamp(8, 3, 9)));
        assert_eq!(rotated, [Change::ReplacedWhileRead { now: Some(3) }]);
        assert!(!rotated[0].loses_records());
        assert!(describe(&rotated).contains("was not collected"));
        let removed = changes(None, file, file, None);
        assert_eq!(removed, [Change::ReplacedWhileRead { now: None }]);
    }
}
