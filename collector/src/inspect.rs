//! `--list-sources` and `--dry-run`: what would be collected here, and why, without collecting.

use triton_bundle::manifest::{self, Item};

use crate::cli::Cli;
use crate::compute_nodes::fanout_servers;
use crate::context::Context;
use crate::discovery::Discovery;
use crate::fanout;
use crate::plan::Action;
use crate::sources::{self, plan_host, Applies};
use crate::timespec::rfc3339;

pub fn print_sources(ctx: &Context, discovery_items: &[Item]) {
    println!("{:<22} {:<8} {:<4} WHY / WHAT", "SOURCE", "PART", "HERE");
    for source in sources::all() {
        let part = match source.part {
            sources::Part::Headnode => "HN",
            sources::Part::ComputeNode => "CN",
            sources::Part::AnyHost => "any",
        };
        let (here, why) = match sources::plan(source, ctx) {
            Applies::Yes { why, tasks } if tasks.is_empty() => {
                let calls = discovery_items
                    .iter()
                    .filter(|i| i.source == source.name)
                    .count();
                ("yes", format!("{why}; {calls} call(s) made"))
            }
            Applies::Yes { why, tasks } => ("yes", format!("{why}; {} item(s)", tasks.len())),
            Applies::No(why) => ("no", why),
        };
        println!("{:<22} {:<8} {:<4} {why}", source.name, part, here);
        println!("{:<22} {:<8} {:<4}   {}", "", "", "", source.what);
    }
}

pub fn print_plan(discovery: &Discovery, cli: &Cli, discovery_items: &[Item]) {
    let ctx = &discovery.ctx;
    println!(
        "window: {} .. {} ({})",
        rfc3339(ctx.window.since),
        rfc3339(ctx.window.until),
        ctx.window.derived_from
    );
    println!(
        "\nasked while resolving the scope ({} call(s)):",
        discovery_items.len()
    );
    for item in discovery_items {
        if let manifest::Origin::Command { argv } = &item.origin {
            let status = item
                .http_status
                .map(|s| format!("HTTP {s}"))
                .or_else(|| item.exit_status.map(|s| format!("exit {s}")))
                .unwrap_or_else(|| item.error.clone().unwrap_or_default());
            println!("  run  {}  [{status}]", shell_words::join(argv));
        }
    }
    let (tasks, not_applicable) = plan_host(ctx);
    println!(
        "\nwould collect on {} ({} item(s)):",
        ctx.host.server_uuid,
        tasks.len()
    );
    for task in &tasks {
        match &task.action {
            Action::File { path, within, .. } => {
                let confinement = if within == "/" {
                    crate::confine::Confinement::global(&ctx.host_root)
                } else {
                    crate::confine::Confinement::zone(&ctx.host_root, within)
                };
                let size = match confinement.resolve(path) {
                    Ok((_, meta)) => crate::size::human(meta.len()),
                    Err(refusal) => refusal.to_string(),
                };
                println!("  file {path}  [{size}]  ({})", task.source);
            }
            Action::Command { argv, .. } => {
                println!("  run  {}  ({})", shell_words::join(argv), task.source)
            }
            Action::Note { path, error } => println!("  note {path}: {error}  ({})", task.source),
        }
    }
    let servers = fanout_servers(cli, discovery, &ctx.host);
    if ctx.headnode && !servers.is_empty() {
        println!("\nwould collect these compute nodes through sdc-oneachnode:");
        for server in &servers {
            let vms: Vec<String> = discovery
                .api
                .as_ref()
                .map(|a| a.vm_facts())
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.server_uuid.as_deref() == Some(server.as_str()))
                .map(|f| f.uuid)
                .collect();
            println!(
                "  {server}: VM(s) {}",
                if vms.is_empty() {
                    "-".to_string()
                } else {
                    vms.join(", ")
                }
            );
        }
        println!(
            "  for each: sdc-oneachnode -n <server> -g <this program> -d {}",
            fanout::CN_TEMP_DIR
        );
        println!(
            "            sdc-oneachnode -n <server> '{}/triton-collect-<id> --cn-mode --root / --vm ... --since {} --until {} --out {}/triton-collect-<id>.tar.gz'",
            fanout::CN_TEMP_DIR,
            rfc3339(ctx.window.since),
            rfc3339(ctx.window.until),
            fanout::CN_TEMP_DIR
        );
        println!(
            "            sdc-oneachnode -n <server> -p {}/triton-collect-<id>.tar.gz -d <temporary directory beside the bundle>",
            fanout::CN_TEMP_DIR
        );
        println!(
            "            sdc-oneachnode -n <server> 'rm -f {}/triton-collect-<id>*'",
            fanout::CN_TEMP_DIR
        );
    }
    println!("\nnot applicable here:");
    for note in not_applicable {
        println!("  {note}");
    }
}
