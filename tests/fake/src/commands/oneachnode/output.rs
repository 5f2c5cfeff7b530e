//! How `sdc-oneachnode` prints results (sdc-sdc `lib/sdc-oneachnode.js`).

use serde_json::{json, Value};

/// One node's outcome.
#[derive(Debug, Clone)]
pub struct NodeResult {
    pub uuid: String,
    pub hostname: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The command ran (whatever its exit status).
    Ran {
        exit_status: i32,
        stdout: String,
        stderr: String,
    },
    /// A file transfer succeeded (reported as stdout `ok`).
    Transferred,
    /// Execution failed on the node (timeout, transfer error): counts as an exec failure.
    Failed { message: String },
    /// Discovery-only (`-l`): no result.
    Listed,
}

impl NodeResult {
    /// The object `-j`/`-J` print: the server plus `result` or `error`.
    pub fn to_json(&self) -> Value {
        let mut obj = json!({"uuid": self.uuid, "hostname": self.hostname});
        match &self.outcome {
            Outcome::Ran {
                exit_status,
                stdout,
                stderr,
            } => {
                obj["result"] =
                    json!({"exit_status": exit_status, "stdout": stdout, "stderr": stderr});
            }
            Outcome::Transferred => {
                obj["result"] = json!({"stdout": "ok", "stderr": "", "exit_status": 0});
            }
            Outcome::Failed { message } => {
                obj["error"] = json!({"message": message, "name": "VError", "code": null});
            }
            Outcome::Listed => {}
        }
        obj
    }

    fn label(&self) -> String {
        format!("{} ({})", self.uuid, self.hostname)
    }

    /// What the human formats show: stdout, plus stderr when the exit status is not 0.
    fn shown_text(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Ran {
                exit_status,
                stdout,
                stderr,
            } => Some(if *exit_status == 0 {
                stdout.clone()
            } else {
                format!("{stdout}{stderr}")
            }),
            Outcome::Transferred => Some("ok".to_string()),
            Outcome::Failed { .. } | Outcome::Listed => None,
        }
    }

    /// Non-blank lines, trimmed; an error counts as its message.
    pub fn non_empty_lines(&self) -> Vec<String> {
        if let Outcome::Failed { message } = &self.outcome {
            return vec![message.clone()];
        }
        self.shown_text()
            .unwrap_or_default()
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Multi-line format: `=== Output from <uuid> (<hostname>):`, the text, a blank line.
pub fn multi_line(result: &NodeResult) -> String {
    if let Outcome::Failed { message } = &result.outcome {
        return format!(
            "=== Failure from {}:\n<ERROR: {message}>\n\n",
            result.label()
        );
    }
    let text = result.shown_text().unwrap_or_default();
    let mut out = format!("=== Output from {}:\n{text}\n", result.label());
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// One-line format row (`%-20s  %s`): the last non-blank line.
pub fn terse_row(result: &NodeResult) -> String {
    let status = match &result.outcome {
        Outcome::Failed { message } => format!("<ERROR: {message}>"),
        _ => result.non_empty_lines().pop().unwrap_or_default(),
    };
    format!("{:<20}  {status}\n", result.hostname)
}

pub fn terse_header() -> String {
    format!("{:<20}  {}\n", "HOSTNAME", "STATUS")
}

/// `-l` format (`%-36s  %s`).
pub fn list_row(uuid: &str, hostname: &str) -> String {
    format!("{uuid:<36}  {hostname}\n")
}
