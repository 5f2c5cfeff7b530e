//! Where a piece of evidence came from: the input, the path inside it, and — when known — the
//! host and the original absolute path, command or API URL it stands for.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Place {
    /// The input as given on the command line (its file name).
    pub input: String,
    /// Path of the entry inside the input (bundle path, or relative path in a directory).
    pub entry: String,
    /// Server uuid of the host the data is from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Absolute path on that host (`/zones/<uuid>/root/tmp/vm.log`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    /// Command whose output this is (`zpool history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// API object this is (`workflow /jobs/<uuid>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

impl Place {
    /// A short human label: `host:/abs/path` or the entry.
    pub fn label(&self) -> String {
        let host = self
            .host
            .as_deref()
            .map(|h| format!("{h}:"))
            .unwrap_or_default();
        if let Some(path) = &self.host_path {
            format!("{host}{path}")
        } else if let Some(cmd) = &self.command {
            format!("{host}`{cmd}`")
        } else if let Some(api) = &self.api {
            api.clone()
        } else {
            self.entry.clone()
        }
    }

    /// Identity of the underlying data regardless of which input carried it, so the same file in
    /// two bundles counts once.
    pub fn identity(&self) -> (Option<&str>, String) {
        let what = self
            .host_path
            .clone()
            .or_else(|| self.command.clone())
            .or_else(|| self.api.clone())
            .unwrap_or_else(|| format!("{}/{}", self.input, self.entry));
        (self.host.as_deref(), what)
    }
}
