//! `triton-sim`: generates a simulated Triton datacenter for tests and demos.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "triton-sim",
    about = "Generate a simulated Triton datacenter with a failed provision"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a datacenter directory for a scenario.
    Create {
        /// Scenario name (see `triton-sim list`).
        #[arg(long, default_value = triton_sim::scenarios::DEFAULT)]
        scenario: String,
        /// Scenario variant (e.g. `mlock` or `silent` for kvm-qemu-out-of-memory).
        #[arg(long)]
        variant: Option<String>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Add about N×100 MB of background history to the big logs.
        #[arg(long, default_value_t = 0)]
        scale: u32,
        /// Do not install the fake command wrappers (DIR/bin, DIR/env.sh).
        #[arg(long)]
        no_fakes: bool,
    },
    /// List scenarios.
    List,
    /// Describe a generated datacenter.
    Info {
        dir: PathBuf,
        /// Print only this field of the first provision in `expected.json` (e.g. `vm_uuid`,
        /// `job_uuid`, `server_uuid`), for scripts.
        #[arg(long)]
        field: Option<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("triton-sim: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => {
            for (name, description) in triton_sim::list() {
                println!("{name:<32} {description}");
            }
        }
        Command::Info { dir, field: None } => print!("{}", triton_sim::info(&dir)?),
        Command::Info {
            dir,
            field: Some(field),
        } => println!("{}", triton_sim::provision_field(&dir, &field)?),
        Command::Create {
            scenario,
            variant,
            out,
            seed,
            scale,
            no_fakes,
        } => {
            let opts = triton_sim::CreateOptions {
                scenario,
                variant,
                seed,
                scale,
                out: out.clone(),
            };
            let started = std::time::Instant::now();
            let summary = triton_sim::create(&opts)?;
            if !no_fakes {
                let exe = std::env::current_exe()?;
                triton_sim::install_fakes(&out, &exe)?;
            }
            eprintln!(
                "triton-sim: wrote {} files ({} bytes) to {} in {:.1}s",
                summary.files,
                summary.bytes,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            print!("{}", triton_sim::info(&out)?);
        }
    }
    Ok(())
}
