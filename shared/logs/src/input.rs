//! Opening log inputs: files (plain or gzip), stdin, and directories of logs.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

const READ_BUFFER: usize = 256 * 1024;

/// A boxed line source, as every input kind ends up.
pub type BoxedInput = Box<dyn BufRead + Send>;

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    File(PathBuf),
}

impl InputSpec {
    /// The name used in messages (`-` for stdin).
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::Stdin => "-".to_string(),
            InputSpec::File(path) => path.display().to_string(),
        }
    }
}

/// Whether a file name looks like a (possibly rotated or compressed) log: it contains `.log`.
pub fn is_log_file_name(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy().contains(".log"))
        .unwrap_or(false)
}

/// Expands command-line paths: `-` is stdin, a directory contributes every `*.log*` file below
/// it (sorted by path), anything else is taken as a file. Unreadable directories are reported
/// in the second list.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<InputSpec>, Vec<(PathBuf, io::Error)>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(InputSpec::Stdin);
        } else if path.is_dir() {
            let walker = walkdir::WalkDir::new(path).sort_by_file_name();
            for entry in walker {
                match entry {
                    Ok(entry) if entry.file_type().is_file() && is_log_file_name(entry.path()) => {
                        inputs.push(InputSpec::File(entry.into_path()));
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let at = err.path().unwrap_or(path).to_path_buf();
                        errors.push((at, io::Error::other(err.to_string())));
                    }
                }
            }
        } else {
            inputs.push(InputSpec::File(path.clone()));
        }
    }
    (inputs, errors)
}

/// Wraps a reader, decompressing when its first bytes are the gzip magic (`1f 8b`). All gzip
/// members are read, so concatenated and BGZF files work.
pub fn decompress_if_gzip<R: Read + Send + 'static>(inner: R) -> io::Result<BoxedInput> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, inner);
    let head = buffered.fill_buf()?;
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        let decoder = MultiGzDecoder::new(buffered);
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, decoder)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Opens an input for reading (gzip detected from content).
pub fn open_input(spec: &InputSpec) -> io::Result<BoxedInput> {
    match spec {
        InputSpec::Stdin => decompress_if_gzip(io::stdin()),
        InputSpec::File(path) => decompress_if_gzip(File::open(path)?),
    }
}

/// Opens a plain (uncompressed) file at `offset`. Returns `None` when the file is gzip, so the
/// caller reads it from the start instead.
pub fn open_plain_at(path: &Path, offset: u64) -> io::Result<Option<BoxedInput>> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(offset))?;
    Ok(Some(Box::new(BufReader::with_capacity(READ_BUFFER, file))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_input_is_detected_and_all_members_are_read() {
        let mut bytes = Vec::new();
        for part in ["first\n", "second\n"] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(part.as_bytes()).unwrap();
            bytes.extend(enc.finish().unwrap());
        }
        let mut text = String::new();
        decompress_if_gzip(io::Cursor::new(bytes))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "first\nsecond\n");
    }

    #[test]
    fn directories_expand_to_log_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["b.log", "a.log.0", "sub/c.log.gz", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let (inputs, errors) = expand_inputs(&[dir.path().to_path_buf()]);
        assert!(errors.is_empty());
        let names: Vec<String> = inputs
            .iter()
            .map(|i| match i {
                InputSpec::File(p) => p.strip_prefix(dir.path()).unwrap().display().to_string(),
                InputSpec::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(names, vec!["a.log.0", "b.log", "sub/c.log.gz"]);
    }
}
