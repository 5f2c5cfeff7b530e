//! `sysinfo`: the host's sysinfo JSON, or with `-p` the parseable `Key='value'` lines
//! (smartos-live `src/sysinfo`: spaces in keys become `_`, nested keys are joined with `_`).

use serde_json::Value;

use crate::jsonfmt;
use crate::reply::Reply;
use crate::sim::Sim;

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    let mut parseable = false;
    for arg in args {
        match arg.as_str() {
            "-p" => parseable = true,
            "-f" | "-u" => {}
            _ => return Reply::error(1, "Usage: /usr/bin/sysinfo: [-f] [-p] [-u]\n"),
        }
    }
    let info = &sim.host().sysinfo;
    if !parseable {
        return Reply::ok(jsonfmt::pretty(info));
    }
    let mut out = String::new();
    flatten("", info, &mut out);
    Reply::ok(out)
}

fn flatten(prefix: &str, value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let key = key.replace([' ', '-', '.', ':'], "_");
                let name = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}_{key}")
                };
                flatten(&name, v, out);
            }
        }
        Value::Number(n) => out.push_str(&format!("{prefix}={n}\n")),
        Value::Bool(b) => out.push_str(&format!("{prefix}='{b}'\n")),
        Value::Null => out.push_str(&format!("{prefix}=''\n")),
        Value::String(s) => out.push_str(&format!("{prefix}='{s}'\n")),
        Value::Array(items) => {
            let joined: Vec<String> = items
                .iter()
                .filter_map(|v| jsonfmt::js_string(Some(v)))
                .collect();
            out.push_str(&format!("{prefix}='{}'\n", joined.join(",")));
        }
    }
}
