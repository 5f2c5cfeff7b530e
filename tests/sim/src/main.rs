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
    /// Write one large VMAPI-like bunyan log (for benchmarks): records in time order spread
    /// over `--hours`, ending at midnight after the simulated day.
    Biglog {
        #[arg(long)]
        out: PathBuf,
        /// Size to reach, e.g. `1G`, `200M` (K/M/G are powers of 1024).
        #[arg(long, default_value = "1G", value_parser = parse_size)]
        size: u64,
        #[arg(long, default_value_t = 24)]
        hours: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
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

/// `1G`, `200M`, `64K` or a plain byte count.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {text:?} (use e.g. 1G, 200M)"))?;
    let scale = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(format!("unknown size unit in {text:?} (use K, M or G)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => {
            for (name, description) in triton_sim::list() {
                println!("{name:<32} {description}");
            }
        }
        Command::Biglog {
            out,
            size,
            hours,
            seed,
        } => {
            let opts = triton_sim::biglog::BigLogOptions {
                bytes: size,
                hours,
                end: triton_sim::biglog::default_end(),
                seed,
            };
            let (bytes, records) = triton_sim::biglog::write(&out, &opts)?;
            eprintln!(
                "triton-sim: wrote {records} records ({bytes} bytes) to {}",
                out.display()
            );
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
