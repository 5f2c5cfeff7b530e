//! The neutral view of an archive member that every container (tar, zip, directory) produces.

use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKind {
    Regular,
    Directory,
    /// Anything else, described (symbolic link, hard link, device, fifo, ...).
    Other(&'static str),
}

pub(crate) struct RawEntry<'a> {
    /// The name exactly as stored.
    pub name: &'a [u8],
    pub kind: RawKind,
    pub size: u64,
    pub reader: &'a mut dyn Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}
