//! A simulated Triton datacenter: the scenario generator behind `triton-sim create`.
//!
//! A scenario is a small story (a provision failing in one specific way) told on top of a common
//! baseline datacenter: a headnode with its core zones, compute nodes with customer VMs, other
//! provisions running at the same time and hours of background log chatter. The result is a
//! directory with one file tree per host, the state the fake commands answer from
//! (`sim/state.json`) and the ground truth (`expected.json`; the secrets planted for redaction
//! tests are listed in `sim/secrets.json`, see [`secrets`]). Everything derives from the seed, so
//! the same seed always gives a byte-identical tree.

pub mod actions;
pub mod baseline;
pub mod biglog;
pub mod clock;
pub mod cn_side;
pub mod dapi;
pub mod formats;
pub mod hostfiles;
pub mod logs;
pub mod noise;
pub mod objects;
pub mod provision;
pub mod render;
pub mod rng;
pub mod scenarios;
pub mod secrets;
pub mod workflow;
pub mod world;
pub mod zonefiles;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use render::Summary;

/// What to generate.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub scenario: String,
    pub variant: Option<String>,
    pub seed: u64,
    /// Extra background history, about `scale`×100 MB.
    pub scale: u32,
    pub out: PathBuf,
}

/// Scenario names with one-line descriptions, the default first.
pub fn list() -> Vec<(&'static str, &'static str)> {
    scenarios::all()
        .iter()
        .map(|s| (s.name, s.description))
        .collect()
}

/// Generates the simulated datacenter (host trees, `sim/state.json`, `expected.json`). The
/// fake command wrappers (`DIR/bin`, `DIR/env.sh`) are installed separately by [`install_fakes`].
pub fn create(opts: &CreateOptions) -> anyhow::Result<Summary> {
    let scenario = scenarios::find(&opts.scenario).ok_or_else(|| {
        let names: Vec<&str> = scenarios::all().iter().map(|s| s.name).collect();
        anyhow::anyhow!(
            "unknown scenario {:?}; known: {}",
            opts.scenario,
            names.join(", ")
        )
    })?;
    if let Some(v) = &opts.variant {
        if !scenario.variants.contains(&v.as_str()) {
            anyhow::bail!(
                "scenario {} has no variant {v:?} (variants: {})",
                scenario.name,
                scenario.variants.join(", ")
            );
        }
    }
    let timing = baseline::timing(opts.seed, scenario.era, scenario.story_len);
    let mut world = baseline::build(scenario.name, opts.seed, opts.scale, scenario.era, &timing);
    noise::background(&mut world);
    (scenario.tell)(&mut world, &timing, opts.variant.as_deref())
        .with_context(|| format!("scenario {}", scenario.name))?;
    hostfiles::add(&mut world);
    let summary = render::write(world, &opts.out)?;
    secrets::plant(&opts.out, opts.seed).context("planting secrets")?;
    Ok(summary)
}

/// Installs `DIR/bin` wrappers and `DIR/env.sh` pointing at the `triton-fake` binary that sits
/// next to `sim_exe` (the running `triton-sim`).
pub fn install_fakes(dir: &Path, sim_exe: &Path) -> anyhow::Result<()> {
    let name = format!("triton-fake{}", std::env::consts::EXE_SUFFIX);
    let fake = sim_exe
        .parent()
        .map(|p| p.join(&name))
        .unwrap_or_else(|| PathBuf::from(&name));
    if !fake.is_file() {
        anyhow::bail!(
            "fake command binary {} not found next to triton-sim; build it with `cargo build -p triton-fake`",
            fake.display()
        );
    }
    triton_fake::install(dir, &fake)
}

/// One field of the first provision in `DIR/expected.json`, as text (for scripts such as the
/// README's demo, which needs the failed VM's uuid).
pub fn provision_field(dir: &Path, field: &str) -> anyhow::Result<String> {
    let expected = read_expected(dir)?;
    match &expected["provisions"][0][field] {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Null => anyhow::bail!(
            "{}: the first provision has no field {field:?}",
            dir.join("expected.json").display()
        ),
        other => Ok(other.to_string()),
    }
}

fn read_expected(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let path = dir.join("expected.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
}

/// Human summary of a generated datacenter: the scenario, the failed VMs and jobs, and what an
/// operator would be told to run.
pub fn info(dir: &Path) -> anyhow::Result<String> {
    let expected = read_expected(dir)?;
    let mut out = String::new();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    out.push_str(&format!(
        "scenario: {} (seed {})\n",
        s(&expected["scenario"]),
        expected["seed"]
    ));
    out.push_str(&format!("headnode: {}\n", s(&expected["headnode"])));
    for p in expected["provisions"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "vm {} brand {} on server {}\n  job {} ({}) failed task {}\n  diagnosis: {}\n  run on the headnode: triton-collect --vm {}\n",
            s(&p["vm_uuid"]),
            s(&p["brand"]),
            s(&p["server_uuid"]),
            s(&p["job_uuid"]),
            s(&p["workflow"]),
            s(&p["failed_task"]),
            s(&p["diagnosis"]),
            s(&p["vm_uuid"]),
        ));
    }
    out.push_str(&format!("environment: . {}/env.sh\n", dir.display()));
    Ok(out)
}
