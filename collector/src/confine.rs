//! Resolving host paths without letting a symlink lead out of where it may lead.
//!
//! Customer zones are untrusted: `/zones/<vm>/root/var/svc/log/x.log` may be a symlink to
//! `/etc/shadow` or `../../../../etc/shadow`, and following it from the global zone would read the
//! global zone's file. Every path is therefore resolved one component at a time with
//! `symlink_metadata`. Inside a confinement root (a zone root, an archive directory), absolute
//! symlinks and relative ones that climb above the root are refused; elsewhere absolute symlinks
//! are re-rooted under the host root (`--root`), so the simulated datacenter behaves like `/`.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed per path before giving up (a loop, or a maze).
const MAX_LINKS: usize = 16;

/// Why a path could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing there.
    NotFound,
    /// A symlink would lead outside the confinement root.
    EscapesRoot {
        link: String,
        target: String,
    },
    /// Not a regular file or directory (device, FIFO, socket).
    SpecialFile {
        kind: &'static str,
    },
    TooManyLinks,
    Io(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotFound => write!(f, "not found"),
            Refusal::EscapesRoot { link, target } => write!(
                f,
                "refused: symlink {link} -> {target} leads outside the zone root"
            ),
            Refusal::SpecialFile { kind } => write!(f, "skipped: not a regular file ({kind})"),
            Refusal::TooManyLinks => write!(f, "refused: too many levels of symlinks"),
            Refusal::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Where a host path may lead.
#[derive(Debug, Clone)]
pub struct Confinement {
    /// The host's root on this machine (`--root`).
    pub host_root: PathBuf,
    /// Absolute host path that symlinks may not leave (`/` for global-zone files).
    pub within: String,
}

impl Confinement {
    pub fn global(host_root: &Path) -> Confinement {
        Confinement {
            host_root: host_root.to_path_buf(),
            within: "/".to_string(),
        }
    }

    pub fn zone(host_root: &Path, zone_root: &str) -> Confinement {
        Confinement {
            host_root: host_root.to_path_buf(),
            within: zone_root.to_string(),
        }
    }

    fn is_global(&self) -> bool {
        self.within == "/"
    }

    /// Resolves absolute host path `path` to a path on this machine with no symlink in it,
    /// and returns its metadata.
    pub fn resolve(&self, path: &str) -> Result<(PathBuf, Metadata), Refusal> {
        let within = normalize(&self.within)
            .ok_or_else(|| Refusal::Io(format!("bad root {}", self.within)))?;
        let wanted = normalize(path).ok_or_else(|| Refusal::Io(format!("bad path {path}")))?;
        if !wanted.starts_with(&within) {
            return Err(Refusal::Io(format!("{path} is not inside {}", self.within)));
        }
        // The confinement root itself is trusted (a global-zone path like /zones/<uuid>/root),
        // but it is still resolved so that --root stays in force.
        let mut resolved: Vec<String> = Vec::new();
        let mut pending: Vec<String> = wanted.iter().rev().cloned().collect();
        let mut links = 0;
        while let Some(component) = pending.pop() {
            if component == ".." {
                if resolved.len() <= within.len() && !self.is_global() {
                    return Err(Refusal::EscapesRoot {
                        link: display(&resolved),
                        target: "..".to_string(),
                    });
                }
                resolved.pop();
                continue;
            }
            resolved.push(component);
            let local = self.local(&resolved);
            let meta = match std::fs::symlink_metadata(&local) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Refusal::NotFound),
                Err(e) => return Err(Refusal::Io(format!("{}: {e}", display(&resolved)))),
            };
            if !meta.file_type().is_symlink() {
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Refusal::TooManyLinks);
            }
            let target = std::fs::read_link(&local)
                .map_err(|e| Refusal::Io(format!("{}: {e}", display(&resolved))))?;
            let target_text = target.to_string_lossy().to_string();
            let link_path = display(&resolved);
            resolved.pop();
            let target_components: Vec<String> = if target.is_absolute() {
                if !self.is_global() {
                    return Err(Refusal::EscapesRoot {
                        link: link_path,
                        target: target_text,
                    });
                }
                resolved.clear();
                components(&target)
            } else {
                components(&target)
            };
            // A relative target may climb: check it stays inside while resolving.
            let mut depth = resolved.len() as isize;
            for c in &target_components {
                if c == ".." {
                    depth -= 1;
                } else {
                    depth += 1;
                }
                if depth < within.len() as isize && !self.is_global() {
                    return Err(Refusal::EscapesRoot {
                        link: link_path,
                        target: target_text,
                    });
                }
            }
            for c in target_components.into_iter().rev() {
                pending.push(c);
            }
        }
        let local = self.local(&resolved);
        let meta = std::fs::metadata(&local).map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
        if !(meta.is_file() || meta.is_dir()) {
            return Err(Refusal::SpecialFile {
                kind: kind_of(&meta),
            });
        }
        Ok((local, meta))
    }

    /// Opens a regular file for reading without following a final symlink and without
    /// blocking on a FIFO swapped in after resolution.
    pub fn open_file(&self, path: &str) -> Result<(File, Metadata), Refusal> {
        let (local, meta) = self.resolve(path)?;
        if !meta.is_file() {
            return Err(Refusal::SpecialFile {
                kind: kind_of(&meta),
            });
        }
        let file = open_no_follow(&local).map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| Refusal::Io(format!("{path}: {e}")))?;
        if !meta.is_file() {
            return Err(Refusal::SpecialFile {
                kind: kind_of(&meta),
            });
        }
        Ok((file, meta))
    }

    /// Lists a directory: `(name, metadata without following symlinks)`, sorted by name.
    pub fn list_dir(&self, dir: &str) -> Result<Vec<(String, Metadata)>, Refusal> {
        let (local, meta) = self.resolve(dir)?;
        if !meta.is_dir() {
            return Err(Refusal::Io(format!("{dir}: not a directory")));
        }
        let entries = std::fs::read_dir(&local).map_err(|e| Refusal::Io(format!("{dir}: {e}")))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Refusal::Io(format!("{dir}: {e}")))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Ok(meta) = std::fs::symlink_metadata(entry.path()) {
                out.push((name, meta));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn local(&self, components: &[String]) -> PathBuf {
        let mut p = self.host_root.clone();
        for c in components {
            p.push(c);
        }
        p
    }
}

fn display(components: &[String]) -> String {
    format!("/{}", components.join("/"))
}

/// Splits an absolute path into normal components, dropping `.` and keeping `..` only where
/// it cannot be folded (the caller then refuses it).
fn normalize(path: &str) -> Option<Vec<String>> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().to_string()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Some(out)
}

fn components(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect()
}

/// What kind of non-regular file this is, for the manifest.
pub fn kind_of(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "fifo";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_block_device() {
            return "block device";
        }
        if ft.is_char_device() {
            return "character device";
        }
    }
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Tree {
        dir: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Tree {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path();
            std::fs::create_dir_all(root.join("etc")).expect("mkdir");
            std::fs::write(root.join("etc/shadow"), "root:secret").expect("write");
            let zone = root.join("zones/vm1/root");
            std::fs::create_dir_all(zone.join("var/svc/log")).expect("mkdir");
            std::fs::create_dir_all(zone.join("etc")).expect("mkdir");
            std::fs::write(zone.join("var/svc/log/ok.log"), "fine").expect("write");
            std::fs::write(zone.join("etc/motd"), "hello").expect("write");
            symlink("/etc/shadow", zone.join("var/svc/log/abs.log")).expect("symlink");
            symlink(
                "../../../../../../etc/shadow",
                zone.join("var/svc/log/climb.log"),
            )
            .expect("symlink");
            symlink("../../../etc/motd", zone.join("var/svc/log/inside.log")).expect("symlink");
            symlink("/etc", zone.join("var/link-dir")).expect("symlink");
            Tree { dir }
        }

        fn zone(&self) -> Confinement {
            Confinement::zone(self.dir.path(), "/zones/vm1/root")
        }
    }

    #[test]
    fn plain_files_resolve() {
        let t = Tree::new();
        let (p, m) = t
            .zone()
            .resolve("/zones/vm1/root/var/svc/log/ok.log")
            .expect("ok");
        assert!(m.is_file());
        assert!(p.ends_with("zones/vm1/root/var/svc/log/ok.log"));
    }

    #[test]
    fn absolute_symlinks_in_a_zone_are_refused() {
        let t = Tree::new();
        let err = t
            .zone()
            .resolve("/zones/vm1/root/var/svc/log/abs.log")
            .expect_err("refused");
        assert!(matches!(err, Refusal::EscapesRoot { .. }), "{err:?}");
        let err = t
            .zone()
            .resolve("/zones/vm1/root/var/link-dir/passwd")
            .expect_err("refused");
        assert!(matches!(err, Refusal::EscapesRoot { .. }), "{err:?}");
    }

    #[test]
    fn climbing_symlinks_are_refused_but_inside_ones_followed() {
        let t = Tree::new();
        let err = t
            .zone()
            .resolve("/zones/vm1/root/var/svc/log/climb.log")
            .expect_err("refused");
        assert!(matches!(err, Refusal::EscapesRoot { .. }), "{err:?}");
        let (p, _) = t
            .zone()
            .resolve("/zones/vm1/root/var/svc/log/inside.log")
            .expect("inside");
        assert!(p.ends_with("zones/vm1/root/etc/motd"), "{}", p.display());
        let mut f = t
            .zone()
            .open_file("/zones/vm1/root/var/svc/log/inside.log")
            .expect("open")
            .0;
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f, &mut s).expect("read");
        assert_eq!(s, "hello");
    }

    #[test]
    fn global_absolute_symlinks_are_rerooted() {
        let t = Tree::new();
        symlink("/etc/shadow", t.dir.path().join("shadow-link")).expect("symlink");
        let (p, _) = Confinement::global(t.dir.path())
            .resolve("/shadow-link")
            .expect("ok");
        assert_eq!(p, t.dir.path().join("etc/shadow"));
    }

    #[test]
    fn missing_and_special_files() {
        let t = Tree::new();
        assert_eq!(
            t.zone()
                .resolve("/zones/vm1/root/nope")
                .expect_err("missing"),
            Refusal::NotFound
        );
        let fifo = t.dir.path().join("zones/vm1/root/var/svc/log/pipe");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("cstring");
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = t
            .zone()
            .open_file("/zones/vm1/root/var/svc/log/pipe")
            .expect_err("fifo");
        assert_eq!(err, Refusal::SpecialFile { kind: "fifo" });
    }

    #[test]
    fn listing_does_not_follow() {
        let t = Tree::new();
        let names: Vec<String> = t
            .zone()
            .list_dir("/zones/vm1/root/var/svc/log")
            .expect("list")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec!["abs.log", "climb.log", "inside.log", "ok.log"]);
    }
}
