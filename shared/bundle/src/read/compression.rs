//! The compressed wrappers the reader undoes: gzip (BGZF included) and bzip2.

use std::io::Read;

use bzip2::read::MultiBzDecoder;
use flate2::read::MultiGzDecoder;

/// How an input (or a nested archive member) is compressed, recognized by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    None,
    /// gzip, possibly of several members (`tar czf`, `gzip`).
    Gzip,
    /// BGZF: multi-member gzip whose members carry their size (what the writer makes).
    Bgzf,
    /// bzip2, possibly of several streams (`tar cjf`, `pbzip2`); `sdc-sbcreate` writes it.
    Bzip2,
}

impl Compression {
    /// The usual file-name suffix, for naming what is inside a single compressed file.
    pub(crate) fn suffix(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip | Compression::Bgzf => Some(".gz"),
            Compression::Bzip2 => Some(".bz2"),
        }
    }

    /// In words, for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Bgzf => "BGZF",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// A single-threaded decompressing reader over `input` (BGZF is read as the gzip it is).
pub(crate) fn decoder<'r>(compression: Compression, input: impl Read + 'r) -> Box<dyn Read + 'r> {
    match compression {
        Compression::None => Box::new(input),
        Compression::Gzip | Compression::Bgzf => Box::new(MultiGzDecoder::new(input)),
        Compression::Bzip2 => Box::new(MultiBzDecoder::new(input)),
    }
}

/// The name of what a single compressed file holds: `vmapi_vms.gz` holds `vmapi_vms`.
pub(crate) fn inner_file_name(name: &str, compression: Compression) -> String {
    compression
        .suffix()
        .and_then(|suffix| name.strip_suffix(suffix))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_inside_single_files() {
        assert_eq!(
            inner_file_name("vmapi_vms.gz", Compression::Gzip),
            "vmapi_vms"
        );
        assert_eq!(inner_file_name("x.log.bz2", Compression::Bzip2), "x.log");
        assert_eq!(inner_file_name("noext", Compression::Gzip), "noext");
        assert_eq!(inner_file_name(".gz", Compression::Gzip), ".gz");
    }
}
