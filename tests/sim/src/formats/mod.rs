//! Writers for the log and output formats a Triton datacenter produces, one module per format.

pub mod bunyan;
pub mod heartbeater;
pub mod qemu;
pub mod restify;
pub mod smf;
pub mod zoneinit;
pub mod zpool;
