//! `vmadm get|list|lookup` over the host's zones (smartos-live `src/vm/sbin/vmadm.js`, VM.js).
//!
//! Facts kept: `get` of a missing VM prints `zoneadm: <uuid>: No such zone configured` on stderr
//! and exits 1; `list` columns have fixed minimum widths (LIST_FIELDS), default order
//! `uuid,type,ram,state,alias` sorted by `ram,uuid`; `lookup` prints uuids, or with `-j` a JSON
//! array (`-o` only with `-j`); `-1` demands exactly one match; values starting with `~` are
//! case-insensitive regular expressions; lookups add the fake fields `type` and `ram`.

use serde_json::{Map, Value};

use crate::args::{self, Opt};
use crate::jsonfmt::{self, js_cmp, js_string, lookup};
use crate::reply::Reply;
use crate::sim::Sim;

const DEFAULT_ORDER: &str = "uuid,type,ram,state,alias";
const DEFAULT_SORT: &str = "ram,uuid";

/// Column header and minimum width of the known list fields.
const LIST_FIELDS: &[(&str, &str, usize)] = &[
    ("alias", "ALIAS", 10),
    ("autoboot", "AUTOBOOT", 8),
    ("billing_id", "BILLING_ID", 36),
    ("brand", "BRAND", 14),
    ("cpu_cap", "CPU_CAP", 7),
    ("cpu_shares", "CPU_SHARE", 9),
    ("create_timestamp", "CREATE_TIMESTAMP", 24),
    ("do_not_inventory", "DNI", 5),
    ("hostname", "HOSTNAME", 32),
    ("image_uuid", "IMAGE_UUID", 36),
    ("ram", "RAM", 7),
    ("max_physical_memory", "MAX_PHYS", 8),
    ("max_swap", "MAX_SWAP", 8),
    ("owner_uuid", "OWNER_UUID", 36),
    ("pid", "PID", 6),
    ("quota", "QUOTA", 5),
    ("zone_state", "ZONE_STATE", 10),
    ("state", "STATE", 16),
    ("type", "TYPE", 4),
    ("uuid", "UUID", 36),
    ("vcpus", "VCPUS", 5),
    ("zpool", "ZPOOL", 12),
    ("zonename", "ZONENAME", 12),
    ("zonepath", "ZONEPATH", 40),
    ("zoneid", "ZONEID", 6),
];

const USAGE: &str = "Usage: /usr/sbin/vmadm <command> [options]

create [-f <filename>]
create-snapshot <uuid> <snapname>
console <uuid>
delete <uuid>
delete-snapshot <uuid> <snapname>
events [-fjr] [uuid]
get <uuid>
info <uuid> [type,...]
install <uuid>
kill [-s SIGNAL|-SIGNAL] <uuid>
list [-p] [-H] [-o field,...] [-s field,...] [field=value ...]
lookup [-j|-1] [-o field,...] [field=value ...]
reboot <uuid> [-F]
receive [-f <filename>]
reprovision <uuid> [-f <filename>]
rollback-snapshot <uuid> <snapname>
send <uuid> [target]
start <uuid> [option=value ...]
stop <uuid> [-F] [-t timeout]
sysrq <uuid> <nmi|screenshot>
update <uuid> [-f <filename>]
 -or- update <uuid> property=value [property=value ...]
validate create [-f <filename>]
validate update <brand> [-f <filename>]

For more detailed information on the use of this command,type 'man vmadm'.
";

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    let Some(command) = args.first() else {
        return usage(None);
    };
    let rest = &args[1..];
    match command.as_str() {
        "get" | "json" => get(sim, rest),
        "list" => list(sim, rest),
        "lookup" => lookup_vms(sim, rest),
        "help" => Reply::ok(USAGE),
        "create" | "create-snapshot" | "console" | "delete" | "destroy" | "delete-snapshot" | "events" | "info"
        | "install" | "kill" | "reboot" | "receive" | "recv" | "reprovision" | "rollback-snapshot" | "send" | "start"
        | "stop" | "sysrq" | "update" | "validate" => Reply::error(
            1,
            format!("vmadm {command}: changing or inspecting live zones is not possible in the simulated datacenter\n"),
        ),
        other => usage(Some(&format!("Invalid command: \"{other}\""))),
    }
}

fn usage(message: Option<&str>) -> Reply {
    let mut text = message.map(|m| format!("{m}\n")).unwrap_or_default();
    text.push_str(USAGE);
    Reply::error(2, text)
}

fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36 && b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-'
}

fn get(sim: &Sim, args: &[String]) -> Reply {
    let Some(uuid) = args.first().filter(|u| is_uuid(u)) else {
        return usage(Some("Invalid or missing UUID for get"));
    };
    match sim
        .host()
        .vms
        .iter()
        .find(|vm| vm.get("uuid").and_then(Value::as_str) == Some(uuid.as_str()))
    {
        Some(vm) => Reply::ok(jsonfmt::pretty(vm)),
        None => Reply::error(1, format!("zoneadm: {uuid}: No such zone configured\n")),
    }
}

/// A VM with vmadm's fake fields: `type` from the brand, and `ram` for zones that lack it.
fn with_fake_fields(vm: &Value) -> Value {
    let mut obj = vm.as_object().cloned().unwrap_or_default();
    let brand = obj
        .get("brand")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = match brand.as_str() {
        "kvm" => "KVM",
        "bhyve" => "BHYV",
        "lx" => "LX",
        _ => "OS",
    };
    obj.insert("type".to_string(), Value::String(kind.to_string()));
    if brand != "kvm" && brand != "bhyve" {
        let ram = obj
            .get("max_physical_memory")
            .cloned()
            .unwrap_or(Value::Null);
        obj.insert("ram".to_string(), ram);
    }
    Value::Object(obj)
}

/// `key=value` filters; a value starting with `~` is a case-insensitive pattern.
fn parse_filters(operands: &[String]) -> Result<Vec<(String, String)>, String> {
    operands
        .iter()
        .map(|op| {
            op.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("Invalid argument: \"{op}\" (expected field=value)"))
        })
        .collect()
}

fn matches_filters(vm: &Value, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(key, wanted)| {
        let Some(actual) = js_string(lookup(vm, key)) else {
            return false;
        };
        match wanted.strip_prefix('~') {
            Some(pattern) => pattern_match(pattern, &actual),
            None => &actual == wanted,
        }
    })
}

/// The subset of regular expressions `vmadm lookup` users write: an optional `^` and `$` around
/// literal text or a group of literal alternatives, matched case-insensitively (`~^cnapi`,
/// `~(bhyve|kvm)` as `sdc-sbcreate` writes).
fn pattern_match(pattern: &str, text: &str) -> bool {
    let (anchored_start, rest) = match pattern.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, pattern),
    };
    let (anchored_end, body) = match rest.strip_suffix('$') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let body = body
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or(body);
    let text = text.to_lowercase();
    body.split('|').any(|literal| {
        let literal = literal.to_lowercase();
        match (anchored_start, anchored_end) {
            (true, true) => text == literal,
            (true, false) => text.starts_with(&literal),
            (false, true) => text.ends_with(&literal),
            (false, false) => text.contains(&literal),
        }
    })
}

fn lookup_vms(sim: &Sim, args: &[String]) -> Reply {
    let spec = [
        Opt::flag('j').long("json"),
        Opt::flag('1').long("unique"),
        Opt::value('o').long("output"),
    ];
    let p = match args::parse(args, &spec, true) {
        Ok(p) => p,
        Err(e) => return usage(Some(&e)),
    };
    let fields: Option<Vec<&str>> = p.value("o").map(|o| o.split(',').collect());
    if fields.is_some() && !p.has("j") {
        return Reply::error(1, "Cannot specify -o without -j\n");
    }
    let filters = match parse_filters(&p.operands) {
        Ok(f) => f,
        Err(e) => return Reply::error(1, format!("{e}\n")),
    };
    let found: Vec<Value> = sim
        .host()
        .vms
        .iter()
        .map(with_fake_fields)
        .filter(|vm| matches_filters(vm, &filters))
        .collect();
    if p.has("1") && found.len() != 1 {
        return Reply::error(
            1,
            format!(
                "Requested unique lookup but found {} results.\n",
                found.len()
            ),
        );
    }
    if !p.has("j") {
        let uuids: String = found
            .iter()
            .filter_map(|vm| js_string(vm.get("uuid")))
            .map(|u| u + "\n")
            .collect();
        return Reply::ok(uuids);
    }
    let objects: Vec<Value> = match fields {
        None => found,
        Some(fields) => found
            .iter()
            .map(|vm| {
                let mut obj = Map::new();
                for f in &fields {
                    if let Some(v) = vm.get(*f) {
                        obj.insert(f.to_string(), v.clone());
                    }
                }
                Value::Object(obj)
            })
            .collect(),
    };
    Reply::ok(jsonfmt::pretty(&Value::Array(objects)))
}

fn column(field: &str) -> Option<(String, usize)> {
    if let Some((_, header, width)) = LIST_FIELDS.iter().find(|(name, _, _)| *name == field) {
        return Some((header.to_string(), *width));
    }
    let parts = field.split('.').count();
    let flattenable = matches!(
        field.split('.').next(),
        Some("nics" | "disks" | "tags" | "customer_metadata" | "internal_metadata")
    );
    (flattenable && (parts == 2 || parts == 3)).then(|| (field.to_uppercase(), 20))
}

fn list(sim: &Sim, args: &[String]) -> Reply {
    let spec = [
        Opt::flag('p').long("parsable"),
        Opt::flag('H'),
        Opt::flag('h'),
        Opt::value('o').long("order"),
        Opt::value('s').long("sortby"),
    ];
    let p = match args::parse(args, &spec, true) {
        Ok(p) => p,
        Err(e) => return usage(Some(&e)),
    };
    let filters = match parse_filters(&p.operands) {
        Ok(f) => f,
        Err(e) => return Reply::error(1, format!("{e}\n")),
    };
    let order: Vec<&str> = p.value("o").unwrap_or(DEFAULT_ORDER).split(',').collect();
    let sort: Vec<&str> = p.value("s").unwrap_or(DEFAULT_SORT).split(',').collect();
    let mut columns = Vec::new();
    for field in &order {
        match column(field) {
            Some(c) => columns.push(c),
            None => return Reply::error(1, format!("Invalid order key: \"{field}\"\n")),
        }
    }
    for key in &sort {
        if column(key.trim_start_matches(['-', '+'])).is_none() {
            return Reply::error(1, format!("Invalid sort key: \"{key}\"\n"));
        }
    }
    let parsable = p.has("p");
    let header = if p.has("H") {
        false
    } else {
        p.has("h") || !parsable
    };

    let mut vms: Vec<Value> = sim
        .host()
        .vms
        .iter()
        .map(with_fake_fields)
        .filter(|vm| matches_filters(vm, &filters))
        .collect();
    vms.sort_by(|a, b| {
        sort.iter()
            .map(|key| {
                let (field, reverse) = match key.strip_prefix('-') {
                    Some(f) => (f, true),
                    None => (key.trim_start_matches('+'), false),
                };
                let ord = js_cmp(lookup(a, field), lookup(b, field));
                if reverse {
                    ord.reverse()
                } else {
                    ord
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });

    let line = |cells: Vec<String>| -> String {
        let text = if parsable {
            cells.join(":")
        } else {
            cells
                .iter()
                .zip(&columns)
                .map(|(cell, (_, width))| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        format!("{}\n", text.trim_end())
    };
    let mut out = String::new();
    if header {
        out.push_str(&line(columns.iter().map(|(h, _)| h.clone()).collect()));
    }
    for vm in &vms {
        let cells = order
            .iter()
            .map(|f| {
                js_string(lookup(vm, f)).unwrap_or_else(|| {
                    if parsable {
                        String::new()
                    } else {
                        "-".into()
                    }
                })
            })
            .collect();
        out.push_str(&line(cells));
    }
    Reply::ok(out)
}

#[cfg(test)]
mod tests {
    use super::pattern_match;

    #[test]
    fn lookup_patterns() {
        assert!(pattern_match("^cnapi", "CNAPI0"));
        assert!(!pattern_match("^napi", "cnapi0"));
        assert!(pattern_match("api", "cnapi0"));
        assert!(pattern_match("^vmapi0$", "vmapi0"));
        assert!(pattern_match("(bhyve|kvm)", "kvm"));
        assert!(pattern_match("(bhyve|kvm)", "bhyve"));
        assert!(!pattern_match("(bhyve|kvm)", "joyent-minimal"));
        assert!(!pattern_match("^(bhyve|kvm)$", "kvm2"));
    }
}
