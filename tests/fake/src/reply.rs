//! What a fake command produces: its stdout, stderr and exit status.
//!
//! Commands build the whole answer before anything is written, so a command's logic never has to
//! deal with a reader that went away; only [`crate::run`] and the flood fault write.

/// Exit status a shell reports for a process killed by SIGPIPE (128 + 13).
pub const STATUS_BROKEN_PIPE: i32 = 141;

/// The complete answer of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: i32,
}

impl Reply {
    /// Success with this stdout.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Reply {
        Reply {
            stdout: stdout.into(),
            stderr: Vec::new(),
            status: 0,
        }
    }

    /// Failure with this status and stderr.
    pub fn error(status: i32, stderr: impl Into<Vec<u8>>) -> Reply {
        Reply {
            stdout: Vec::new(),
            stderr: stderr.into(),
            status,
        }
    }

    /// What `sh` prints when a command is not installed on this host.
    pub fn not_found(command: &str) -> Reply {
        Reply::error(127, format!("sh: {command}: not found\n"))
    }
}
