//! `triton-collect`: gathers what a failed Triton provision left behind (jobs, API objects,
//! core-zone and compute-node logs, command output) into one support bundle.

mod api_output;
mod app;
mod cli;
mod compute_nodes;
mod confine;
mod context;
mod discovery;
mod exec;
mod failed_posts;
mod fanout;
mod file_change;
mod ids;
mod inspect;
mod os;
mod plan;
mod priority;
mod progress;
use triton_redact as redact;
mod report;
mod rotated;
mod runner;
mod scope;
mod size;
mod slice;
mod sources;
mod space;
mod timespec;
mod upload;
mod window;

use clap::{CommandFactory, Parser};

fn main() {
    triton_clidoc::install_panic_hook("triton-collect");
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(status) = triton_clidoc::dispatch(&args, cli::Cli::command) {
        std::process::exit(status);
    }
    os::ensure_platform_path();
    let argv = cli::Cli::argv();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { cli::EXIT_USAGE } else { 0 });
        }
    };
    std::process::exit(app::run(cli, argv));
}
