//! `zoneadm list` and `zonename` (illumos `zoneadm.c`): `-p` prints
//! `zoneid:zonename:state:zonepath:uuid:brand:ip-type`, the global zone first as
//! `0:global:running:/::liveimg:shared` (SmartOS); without `-c`/`-i` only running zones.

use serde_json::Value;

use crate::args::{self, Opt};
use crate::reply::Reply;
use crate::sim::Sim;

const USAGE: &str =
    "usage:  zoneadm [-z <zone>] [-u <uuid-match>] <subcommand>\nSubcommands:\n\nlist [-cipv]\n";

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    if args.first().map(String::as_str) != Some("list") {
        return Reply::error(253, USAGE);
    }
    let spec = [
        Opt::flag('c'),
        Opt::flag('i'),
        Opt::flag('p'),
        Opt::flag('v'),
    ];
    let p = match args::parse(&args[1..], &spec, false) {
        Ok(p) => p,
        Err(e) => return Reply::error(253, format!("zoneadm: {e}\n{USAGE}")),
    };
    let shown: Vec<ZoneRow> = std::iter::once(global())
        .chain(zone_rows(sim))
        .filter(|z| p.has("c") || z.state == "running" || (p.has("i") && z.state == "installed"))
        .collect();
    let mut out = String::new();
    if p.has("p") {
        for z in &shown {
            out.push_str(&format!(
                "{}:{}:{}:{}:{}:{}:{}\n",
                z.id, z.name, z.state, z.path, z.uuid, z.brand, z.ip_type
            ));
        }
    } else if p.has("v") {
        out.push_str(&format!(
            "{:>4} {:<16} {:<10} {:<30} {:<8} {:<6}\n",
            "ID", "NAME", "STATUS", "PATH", "BRAND", "IP"
        ));
        for z in &shown {
            out.push_str(&format!(
                "{:>4} {:<16} {:<10} {:<30} {:<8} {:<6}\n",
                z.id, z.name, z.state, z.path, z.brand, z.ip_type
            ));
        }
    } else {
        for z in &shown {
            out.push_str(&format!("{}\n", z.name));
        }
    }
    Reply::ok(out)
}

/// `zonename` in the global zone.
pub fn zonename(args: &[String]) -> Reply {
    if args.is_empty() {
        Reply::ok("global\n")
    } else {
        Reply::error(1, "usage: zonename\n")
    }
}

struct ZoneRow {
    id: String,
    name: String,
    state: String,
    path: String,
    uuid: String,
    brand: String,
    ip_type: String,
}

fn global() -> ZoneRow {
    ZoneRow {
        id: "0".into(),
        name: "global".into(),
        state: "running".into(),
        path: "/".into(),
        uuid: String::new(),
        brand: "liveimg".into(),
        ip_type: "shared".into(),
    }
}

fn zone_rows(sim: &Sim) -> Vec<ZoneRow> {
    let text = |vm: &Value, key: &str| vm.get(key).and_then(Value::as_str).map(str::to_string);
    let mut next_id = 0;
    sim.host()
        .vms
        .iter()
        .map(|vm| {
            let uuid = text(vm, "uuid").unwrap_or_default();
            let state = text(vm, "zone_state").unwrap_or_else(|| {
                match text(vm, "state").as_deref() {
                    Some("running" | "provisioning") => "running",
                    Some("configured") => "configured",
                    _ => "installed",
                }
                .to_string()
            });
            let id = match vm.get("zoneid").and_then(Value::as_u64) {
                Some(id) => id.to_string(),
                None if state == "running" => {
                    next_id += 1;
                    next_id.to_string()
                }
                None => "-".to_string(),
            };
            ZoneRow {
                id,
                name: text(vm, "zonename").unwrap_or_else(|| uuid.clone()),
                state,
                path: text(vm, "zonepath").unwrap_or_else(|| format!("/zones/{uuid}")),
                brand: text(vm, "brand").unwrap_or_else(|| "joyent".into()),
                ip_type: "excl".into(),
                uuid,
            }
        })
        .collect()
}
