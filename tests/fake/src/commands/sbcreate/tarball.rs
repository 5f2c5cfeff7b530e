//! The archives `sdc-sbcreate` makes: illumos `tar -cvf`/`-zcvf` of host paths (ustar, symbolic
//! links stored as links, records of 10240 bytes) for the nested members, and `gtar -jcvf` (GNU
//! format, bzip2) for the bundle itself.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use tar::{EntryType, Header};

/// tar's default blocking: 20 records of 512 bytes.
const RECORD_BYTES: usize = 10240;

/// An archive and what `tar -v` printed while making it.
pub struct Archive {
    pub bytes: Vec<u8>,
    /// Verbose listing and complaints, as tar writes them to the log.
    pub listing: Vec<String>,
}

/// `tar -cvf - ARGS` run in `root`: each argument a path relative to it, directories recursed in
/// name order. A missing argument is complained about and skipped, as tar does.
pub fn tar_paths(root: &Path, args: &[String], mtime: u64) -> io::Result<Archive> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut listing = Vec::new();
    for arg in args {
        match fs::symlink_metadata(root.join(arg)) {
            Ok(meta) => add_path(&mut builder, root, arg, &meta, mtime, &mut listing)?,
            Err(_) => listing.push(format!("tar: {arg}: No such file or directory")),
        }
    }
    Ok(Archive {
        bytes: padded(builder.into_inner()?),
        listing,
    })
}

fn add_path(
    builder: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    name: &str,
    meta: &fs::Metadata,
    mtime: u64,
    listing: &mut Vec<String>,
) -> io::Result<()> {
    let path = root.join(name);
    let mut header = Header::new_ustar();
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("root")?;
    header.set_groupname("root")?;
    header.set_mtime(mtime);
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = fs::read_link(&path)?;
        header.set_entry_type(EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, name, &target)?;
        listing.push(format!("a {name} symbolic link to {}", target.display()));
    } else if kind.is_dir() {
        header.set_entry_type(EntryType::Directory);
        header.set_size(0);
        builder.append_data(&mut header, format!("{name}/"), io::empty())?;
        listing.push(format!("a {name}/ 0K"));
        let mut children: Vec<String> = fs::read_dir(&path)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        children.sort();
        for child in children {
            let child_name = format!("{name}/{child}");
            let child_meta = fs::symlink_metadata(root.join(&child_name))?;
            add_path(builder, root, &child_name, &child_meta, mtime, listing)?;
        }
    } else if kind.is_file() {
        header.set_entry_type(EntryType::Regular);
        header.set_size(meta.len());
        builder.append_data(&mut header, name, fs::File::open(&path)?)?;
        listing.push(format!("a {name} {}K", meta.len().div_ceil(1024)));
    }
    Ok(())
}

/// `gtar -jcvf OUT TOP` of the bundle directory: `TOP/` and the files below it, in name order.
pub fn gtar_bzip2(
    top: &str,
    files: &[(String, Option<Vec<u8>>)],
    mtime: u64,
) -> io::Result<Archive> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut listing = vec![format!("{top}/")];
    let mut sorted: Vec<&(String, Option<Vec<u8>>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut directory = gnu_header(EntryType::Directory, 0o755, 0, mtime);
    builder.append_data(&mut directory, format!("{top}/"), io::empty())?;
    for (name, data) in sorted {
        let path = format!("{top}/{name}");
        match data {
            None => {
                let mut header = gnu_header(EntryType::Directory, 0o755, 0, mtime);
                builder.append_data(&mut header, format!("{path}/"), io::empty())?;
                listing.push(format!("{path}/"));
            }
            Some(bytes) => {
                let mut header = gnu_header(EntryType::Regular, 0o644, bytes.len(), mtime);
                builder.append_data(&mut header, &path, &bytes[..])?;
                listing.push(path);
            }
        }
    }
    let tar = padded(builder.into_inner()?);
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    encoder.write_all(&tar)?;
    Ok(Archive {
        bytes: encoder.finish()?,
        listing,
    })
}

fn gnu_header(kind: EntryType, mode: u32, size: usize, mtime: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size as u64);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// What `gzip` (and `tar -z`) writes, at gzip's default level.
pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// tar writes whole records: the end-of-archive blocks are followed by zeros up to a record.
fn padded(mut tar: Vec<u8>) -> Vec<u8> {
    tar.resize(tar.len().div_ceil(RECORD_BYTES) * RECORD_BYTES, 0);
    tar
}

/// Expands a shell glob relative to `root` as bash does without `nullglob`: `*` matches within
/// one component (never a leading dot), matches come sorted, and no match leaves the pattern.
pub fn glob(root: &Path, pattern: &str) -> Vec<String> {
    let mut found = vec![String::new()];
    for component in pattern.split('/') {
        let mut next = Vec::new();
        for base in &found {
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_string()
                } else {
                    format!("{base}/{name}")
                }
            };
            if !component.contains('*') {
                if fs::symlink_metadata(root.join(join(component))).is_ok() {
                    next.push(join(component));
                }
                continue;
            }
            let Ok(entries) = fs::read_dir(root.join(base)) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.') && wildcard_match(component, name))
                .collect();
            names.sort();
            next.extend(names.iter().map(|name| join(name)));
        }
        found = next;
    }
    if found.is_empty() {
        vec![pattern.to_string()]
    } else {
        found
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut remaining) = name.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// `tail -n COUNT`: the last lines; a final line without a newline counts as one.
pub fn last_lines(data: &[u8], count: usize) -> &[u8] {
    let end = data.len() - usize::from(data.ends_with(b"\n"));
    let mut seen = 0;
    for (at, byte) in data[..end].iter().enumerate().rev() {
        if *byte == b'\n' {
            seen += 1;
            if seen == count {
                return &data[at + 1..];
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.log", "vmadm.log"));
        assert!(!wildcard_match("*.log", "vmadm.log.0"));
        assert!(wildcard_match("config*", "config"));
        assert!(wildcard_match("config*", "config.inc"));
        assert!(wildcard_match("*", "x"));
        assert!(wildcard_match("a*b*c", "a-b-c"));
        assert!(!wildcard_match("a*b", "a"));
    }

    #[test]
    fn tail_counts_lines_like_tail() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"", 5), b"");
    }

    #[test]
    fn globs_expand_in_order_or_stay_literal() {
        let dir = tempfile::tempdir().unwrap();
        for p in [
            "zones/b/root/var/log",
            "zones/a/root/var/log",
            "zones/c/root",
        ] {
            fs::create_dir_all(dir.path().join(p)).unwrap();
        }
        assert_eq!(
            glob(dir.path(), "zones/*/root/var/log"),
            ["zones/a/root/var/log", "zones/b/root/var/log"]
        );
        assert_eq!(
            glob(dir.path(), "zones/*/root/opt/smartdc/*/log"),
            ["zones/*/root/opt/smartdc/*/log"]
        );
    }
}
