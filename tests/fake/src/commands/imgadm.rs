//! `imgadm get|list` over the host's installed images (smartos-live `src/img/lib/cli.js`,
//! `errors.js`): errors print as `imgadm: error (<Code>): <message>` with exit 1; `list` is a
//! tabula table of `uuid,name,version,os,type,pub` sorted by `published_at,name`.

use serde_json::Value;

use crate::args::{self, Opt};
use crate::jsonfmt::{self, js_cmp, js_string, lookup};
use crate::reply::Reply;
use crate::sim::Sim;
use crate::table;

const DEFAULT_POOL: &str = "zones";

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    let Some(command) = args.first() else {
        return error("Usage", "no command given (see 'imgadm help')");
    };
    let rest = &args[1..];
    match command.as_str() {
        "get" | "info" => get(sim, rest),
        "list" | "ls" => list(sim, rest),
        "import" | "install" | "delete" | "create" | "publish" | "update" | "vacuum"
        | "sources" | "avail" | "show" => error(
            "Unavailable",
            &format!("\"{command}\" is not possible in the simulated datacenter"),
        ),
        other => error("UnknownCommand", &format!("unknown command: \"{other}\"")),
    }
}

fn error(code: &str, message: &str) -> Reply {
    Reply::error(1, format!("imgadm: error ({code}): {message}\n"))
}

fn manifest_uuid(info: &Value) -> Option<&str> {
    lookup(info, "manifest.uuid").and_then(Value::as_str)
}

fn get(sim: &Sim, args: &[String]) -> Reply {
    let spec = [Opt::value('P'), Opt::flag('r')];
    let p = match args::parse(args, &spec, true) {
        Ok(p) => p,
        Err(e) => return error("Usage", &e),
    };
    if p.operands.len() != 1 {
        return error(
            "Usage",
            &format!(
                "incorrect number of args ({}): \"{}\"",
                p.operands.len(),
                p.operands.join(" ")
            ),
        );
    }
    let uuid = &p.operands[0];
    let pool = p.value("P").unwrap_or(DEFAULT_POOL);
    let found = sim.host().images.iter().find(|info| {
        manifest_uuid(info) == Some(uuid.as_str())
            && info
                .get("zpool")
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_POOL)
                == pool
    });
    match found {
        Some(info) => Reply::ok(jsonfmt::pretty(info)),
        None => error(
            "ImageNotInstalled",
            &format!("image \"{uuid}\" was not found on zpool \"{pool}\""),
        ),
    }
}

/// The row `imgadm list` shows for an image: the manifest plus computed fields.
fn row(info: &Value) -> Value {
    let mut row = info
        .get("manifest")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(published) = row
        .get("published_at")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        let date: String = published.chars().take(10).collect();
        row.insert("published_date".into(), Value::String(date.clone()));
        row.insert("pub".into(), Value::String(date));
        row.insert("published".into(), Value::String(strip_millis(&published)));
    }
    for key in ["source", "clones", "zpool"] {
        if let Some(v) = info.get(key) {
            row.insert(key.into(), v.clone());
        }
    }
    if let Some(size) = lookup(info, "manifest.files.0.size") {
        row.insert("size".into(), size.clone());
    }
    Value::Object(row)
}

/// `2024-01-02T03:04:05.678Z` → `2024-01-02T03:04:05Z`.
fn strip_millis(ts: &str) -> String {
    match (ts.rfind('.'), ts.ends_with('Z')) {
        (Some(dot), true)
            if ts[dot + 1..ts.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
        {
            format!("{}Z", &ts[..dot])
        }
        _ => ts.to_string(),
    }
}

fn list(sim: &Sim, args: &[String]) -> Reply {
    let spec = [
        Opt::flag('j').long("json"),
        Opt::flag('H'),
        Opt::value('o'),
        Opt::value('s'),
        Opt::flag('\0').long("docker"),
    ];
    let p = match args::parse(args, &spec, true) {
        Ok(p) => p,
        Err(e) => return error("Usage", &e),
    };
    let mut filters = Vec::new();
    for op in &p.operands {
        match op.split_once('=') {
            Some((k, v)) => filters.push((k.to_string(), v.to_string())),
            None => {
                return error(
                    "Usage",
                    &format!("invalid filter: \"{op}\" (must be of the form \"field=value\")"),
                )
            }
        }
    }
    let selected: Vec<&Value> = sim
        .host()
        .images
        .iter()
        .filter(|info| {
            let r = row(info);
            filters.iter().all(|(k, v)| {
                let actual = js_string(lookup(&r, k));
                match v.strip_prefix('~') {
                    Some(sub) => actual.is_some_and(|a| a.contains(sub)),
                    None => actual.as_deref() == Some(v.as_str()),
                }
            })
        })
        .collect();
    if p.has("j") {
        let list: Vec<Value> = selected.into_iter().cloned().collect();
        return Reply::ok(jsonfmt::pretty(&Value::Array(list)));
    }
    let columns: Vec<&str> = p
        .value("o")
        .unwrap_or("uuid,name,version,os,type,pub")
        .split(',')
        .map(str::trim)
        .collect();
    let sort: Vec<&str> = p
        .value("s")
        .unwrap_or("published_at,name")
        .split(',')
        .map(str::trim)
        .collect();
    let mut rows: Vec<Value> = selected.into_iter().map(row).collect();
    rows.sort_by(|a, b| {
        sort.iter()
            .map(|key| match key.strip_prefix('-') {
                Some(k) => js_cmp(lookup(b, k), lookup(a, k)),
                None => js_cmp(lookup(a, key), lookup(b, key)),
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| js_string(lookup(r, c)).unwrap_or_else(|| "-".into()))
                .collect()
        })
        .collect();
    let headers: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let header = (!p.has("H")).then_some(header_refs.as_slice());
    Reply::ok(table::render(header, &cells, &[], "  "))
}

#[cfg(test)]
mod tests {
    use super::strip_millis;

    #[test]
    fn published_without_millis() {
        assert_eq!(
            strip_millis("2024-01-02T03:04:05.678Z"),
            "2024-01-02T03:04:05Z"
        );
        assert_eq!(strip_millis("2024-01-02T03:04:05Z"), "2024-01-02T03:04:05Z");
    }
}
