//! Fake Triton and SmartOS commands for the simulated datacenter.
//!
//! A simulated datacenter (`triton-sim create --out DIR`) is a directory holding one file tree per
//! host (`DIR/hn/`, `DIR/cn/<server-uuid>/`) and the state of the APIs and of each host's
//! commands in `DIR/sim/state.json` ([`state::SimState`]). The commands in `DIR/bin/` are small
//! wrappers that run this crate's `triton-fake` binary, which answers from that state in the real
//! output formats, with the real exit codes.
//!
//! The binary is multi-call: `triton-fake <command> [args...]`. [`install`] writes the wrappers.

pub mod state;

mod args;
mod commands;
mod faults;
mod http;
mod install;
mod jsonfmt;
mod reply;
mod sim;
mod table;

use std::io::Write;

pub use install::install;
use reply::Reply;

/// Every command the fake answers, as named in `DIR/bin/`.
pub const COMMANDS: &[&str] = &[
    "sdc-vmapi",
    "sdc-workflow",
    "sdc-cnapi",
    "sdc-imgapi",
    "sdc-napi",
    "sdc-oneachnode",
    "sdc-sbcreate",
    "vmadm",
    "imgadm",
    "zfs",
    "zpool",
    "svcs",
    "sysinfo",
    "zoneadm",
    "zonename",
];

/// Runs one fake command as the host named by `TRITON_SIM_HOST` (the headnode when unset), writes
/// its output to this process's stdout/stderr and returns the exit status.
///
/// A closed stdout (reader went away) ends the command quietly with status 141, the status a
/// shell reports for a command killed by SIGPIPE.
pub fn run(command: &str, args: &[String]) -> i32 {
    if !COMMANDS.contains(&command) {
        return print(&Reply::error(
            2,
            format!(
                "triton-fake: unknown command {command:?} (known: {})\n",
                COMMANDS.join(" ")
            ),
        ));
    }
    let sim = match sim::Sim::from_env() {
        Ok(sim) => sim,
        Err(e) => return print(&Reply::error(1, format!("{command}: {e:#}\n"))),
    };
    let fault = faults::find(sim.host(), command, args);
    if let Some(faults::Action::Fail(reply)) = &fault {
        return print(reply);
    }
    if let Some(faults::Action::Hang(duration)) = fault {
        std::thread::sleep(duration);
    }
    if let Some(faults::Action::IgnoreTerm { sleep, pid_file }) = &fault {
        faults::ignore_term(*sleep, pid_file.as_deref());
    }
    let reply = commands::dispatch(&sim, command, args);
    if let Some(faults::Action::Flood) = fault {
        return faults::flood(&reply);
    }
    print(&reply)
}

/// Writes a reply to stdout/stderr and returns its status (141 when stdout is closed).
fn print(reply: &Reply) -> i32 {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(&reply.stdout)
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return reply::STATUS_BROKEN_PIPE;
        }
    }
    let _ = std::io::stderr().write_all(&reply.stderr);
    reply.status
}
