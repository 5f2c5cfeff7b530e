//! Entry names: what the writer accepts and how the reader turns untrusted archive names into
//! safe relative paths.

/// Checks a relative path given to the writer. Returns the reason it is refused.
///
/// The writer is strict (no `.` or empty components either) so that every name it stores reads
/// back byte for byte.
pub(crate) fn check_writer_path(rel: &str) -> Result<(), String> {
    if rel.is_empty() {
        return Err("empty".into());
    }
    if rel.contains('\0') {
        return Err("contains NUL".into());
    }
    if rel.starts_with('/') {
        return Err("absolute".into());
    }
    for component in rel.split('/') {
        match component {
            "" => return Err("empty component (double or trailing '/')".into()),
            "." => return Err("'.' component".into()),
            ".." => return Err("'..' component".into()),
            _ if component.len() > 255 => {
                return Err("component longer than 255 bytes".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Why an archive name cannot be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameProblem {
    NotUtf8,
    Nul,
    Absolute,
    ParentDir,
    Empty,
}

impl NameProblem {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            NameProblem::NotUtf8 => "unsafe name: not UTF-8",
            NameProblem::Nul => "unsafe name: contains NUL",
            NameProblem::Absolute => "unsafe name: absolute path",
            NameProblem::ParentDir => "unsafe name: contains '..'",
            NameProblem::Empty => "unsafe name: empty",
        }
    }
}

/// Normalizes a name read from an archive: `/`-separated, no `.` or empty components.
///
/// Names with `..`, a leading `/` (or a DOS drive letter), NUL or invalid UTF-8 are refused:
/// such entries could point outside wherever a consumer puts them.
pub(crate) fn normalize_archive_name(raw: &[u8]) -> Result<String, NameProblem> {
    let text = std::str::from_utf8(raw).map_err(|_| NameProblem::NotUtf8)?;
    if text.contains('\0') {
        return Err(NameProblem::Nul);
    }
    if text.starts_with('/') || has_drive_prefix(text) {
        return Err(NameProblem::Absolute);
    }
    // `\` is no separator here, but it is for any Windows tool the file may be unpacked with.
    if text.split(['/', '\\']).any(|c| c == "..") {
        return Err(NameProblem::ParentDir);
    }
    let mut parts = Vec::new();
    for component in text.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(NameProblem::ParentDir),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(NameProblem::Empty);
    }
    Ok(parts.join("/"))
}

fn has_drive_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_paths() {
        assert!(check_writer_path("hosts/abc/files/var/log/x.log").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/./b",
            "a/",
            "a\0b",
        ] {
            assert!(check_writer_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn archive_names() {
        assert_eq!(normalize_archive_name(b"./top/a//b").unwrap(), "top/a/b");
        assert_eq!(normalize_archive_name(b"../x"), Err(NameProblem::ParentDir));
        assert_eq!(
            normalize_archive_name(b"top/..\\..\\x"),
            Err(NameProblem::ParentDir)
        );
        assert_eq!(
            normalize_archive_name(b"top/a..b\\c").unwrap(),
            "top/a..b\\c"
        );
        assert_eq!(
            normalize_archive_name(b"a/../../x"),
            Err(NameProblem::ParentDir)
        );
        assert_eq!(
            normalize_archive_name(b"/etc/x"),
            Err(NameProblem::Absolute)
        );
        assert_eq!(normalize_archive_name(b"C:/x"), Err(NameProblem::Absolute));
        assert_eq!(normalize_archive_name(b"\xff"), Err(NameProblem::NotUtf8));
        assert_eq!(normalize_archive_name(b"./"), Err(NameProblem::Empty));
    }
}
