//! Fake Triton and SmartOS commands for the simulated datacenter.
//!
//! A simulated datacenter (`triton-sim create --out DIR`) is a directory holding one file tree per
//! host (`DIR/hn/`, `DIR/cn/<server-uuid>/`) and the state of the APIs and of each host's
//! commands in `DIR/sim/state.json` ([`state::SimState`]). The commands in `DIR/bin/` are small
//! wrappers that run this crate's `triton-fake` binary, which answers from that state in the real
//! output formats, with the real exit codes.

pub mod state;
