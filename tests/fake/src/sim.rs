//! The simulated datacenter a fake command runs in, and the host it runs on.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use jiff::Timestamp;

use crate::state::{Host, HostRole, SimState, ENV_SIM_DIR, ENV_SIM_HOST};

/// A loaded simulated datacenter plus the host the current command runs "on".
pub struct Sim {
    pub dir: PathBuf,
    pub state: SimState,
    host_index: usize,
}

impl Sim {
    /// Loads `$TRITON_SIM_DIR/sim/state.json` and picks the host from `$TRITON_SIM_HOST`.
    pub fn from_env() -> anyhow::Result<Sim> {
        let dir = std::env::var_os(ENV_SIM_DIR)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| anyhow!("{ENV_SIM_DIR} is not set (source DIR/env.sh first)"))?;
        let host = std::env::var(ENV_SIM_HOST).ok().filter(|h| !h.is_empty());
        Sim::load(Path::new(&dir), host.as_deref())
    }

    /// Loads a datacenter directory, answering as `host` (server uuid or hostname; `None` = HN).
    pub fn load(dir: &Path, host: Option<&str>) -> anyhow::Result<Sim> {
        // Absolute, because commands run "on" nodes change directory before using it.
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let dir = dir.as_path();
        let state = SimState::load(dir)?;
        let host_index = match host {
            None => 0,
            Some(wanted) => state
                .hosts()
                .position(|h| h.server_uuid == wanted || h.hostname == wanted)
                .ok_or_else(|| {
                    anyhow!("{ENV_SIM_HOST}={wanted} names no host of {}", dir.display())
                })?,
        };
        Ok(Sim {
            dir: dir.to_path_buf(),
            state,
            host_index,
        })
    }

    /// The host this command runs on.
    pub fn host(&self) -> &Host {
        self.state
            .hosts()
            .nth(self.host_index)
            .unwrap_or(&self.state.headnode)
    }

    /// Whether the command runs on the headnode (where the `sdc-*` tools exist).
    pub fn on_headnode(&self) -> bool {
        self.host().role == HostRole::Headnode
    }

    /// The directory standing for `/` of a host.
    pub fn host_root(&self, host: &Host) -> PathBuf {
        self.dir.join(&host.root)
    }

    /// The simulated "now".
    pub fn now(&self) -> anyhow::Result<Timestamp> {
        parse_time(&self.state.now).with_context(|| "state.json field \"now\"".to_string())
    }
}

/// Parses an RFC 3339 timestamp (`2024-01-18T10:00:00Z`, with or without fraction).
pub fn parse_time(text: &str) -> anyhow::Result<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|e| anyhow!("invalid timestamp {text:?}: {e}"))
}
