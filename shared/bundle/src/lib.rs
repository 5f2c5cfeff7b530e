//! The triton-support bundle format, version 1 (see `docs/bundle-format.md`).
//!
//! One bundle holds what `triton-collect` gathered on a headnode and the compute nodes it fanned
//! out to: a `manifest.json` describing every item (collected or not) and the items themselves,
//! kept apart per host. The writer is used by the collector, the reader by the analyzer; both live
//! here so the format is implemented exactly once.

pub mod manifest;
