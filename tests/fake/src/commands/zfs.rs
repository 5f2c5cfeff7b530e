//! `zfs list` over the host's datasets (illumos `zfs_main.c` layout: columns as wide as their
//! widest cell, two spaces apart, sizes right-aligned, `-H` tab-separated without header, `-p`
//! exact byte counts; without `-t`, snapshots are not listed unless named).

use crate::args::{self, Opt};
use crate::reply::Reply;
use crate::sim::Sim;
use crate::state::Dataset;
use crate::table::{self, Align};

/// The properties this fake can show (`zfs list -o`).
const COLUMNS: &[&str] = &[
    "name",
    "used",
    "avail",
    "available",
    "refer",
    "referenced",
    "mountpoint",
    "type",
];

const USAGE: &str = "usage:
\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...
\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...
";

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    match args.first().map(String::as_str) {
        Some("list") => list(sim, &args[1..]),
        Some(other) => Reply::error(2, format!("unrecognized command '{other}'\n{USAGE}")),
        None => Reply::error(2, format!("usage: zfs command args ...\n{USAGE}")),
    }
}

/// The type zfs reports for a dataset, inferred from its name and mountpoint.
pub fn dataset_type(ds: &Dataset) -> &'static str {
    if ds.name.contains('@') {
        "snapshot"
    } else if ds.mountpoint == "-" {
        "volume"
    } else {
        "filesystem"
    }
}

/// Bytes of a zfs human size (`1.45G` → 1556925644); `None` for `-` and `none`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let value: f64 = number.parse().ok()?;
    let power = match unit.to_ascii_uppercase().trim_end_matches('B') {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        _ => return None,
    };
    Some((value * 1024f64.powi(power)) as u64)
}

fn list(sim: &Sim, args: &[String]) -> Reply {
    let spec = [
        Opt::flag('H'),
        Opt::flag('p'),
        Opt::flag('r'),
        Opt::value('d'),
        Opt::value('o'),
        Opt::value('s'),
        Opt::value('S'),
        Opt::value('t'),
    ];
    let p = match args::parse(args, &spec, false) {
        Ok(p) => p,
        Err(e) => return Reply::error(2, format!("{e}\n{USAGE}")),
    };
    let columns: Vec<String> = p
        .value("o")
        .unwrap_or("name,used,avail,refer,mountpoint")
        .split(',')
        .map(|c| c.trim().to_lowercase())
        .collect();
    for c in &columns {
        if !COLUMNS.contains(&c.as_str()) {
            return Reply::error(2, format!("invalid property '{c}'\n{USAGE}"));
        }
    }
    let types: Option<Vec<String>> = p.value("t").map(|t| {
        t.split(',')
            .flat_map(|t| match t.trim() {
                "all" => vec![
                    "filesystem".to_string(),
                    "volume".to_string(),
                    "snapshot".to_string(),
                ],
                "fs" => vec!["filesystem".to_string()],
                "snap" => vec!["snapshot".to_string()],
                "vol" => vec!["volume".to_string()],
                other => vec![other.to_string()],
            })
            .collect()
    });
    let type_ok = |ds: &Dataset, named: bool| match &types {
        Some(types) => types.iter().any(|t| t == dataset_type(ds)),
        None => named || dataset_type(ds) != "snapshot",
    };
    let recursive = p.has("r") || p.value("d").is_some();
    let max_depth: Option<usize> = p.value("d").and_then(|d| d.parse().ok());
    let datasets = &sim.host().datasets;
    let mut selected: Vec<&Dataset> = Vec::new();
    let mut stderr = String::new();
    let mut status = 0;
    if p.operands.is_empty() {
        selected.extend(datasets.iter().filter(|ds| type_ok(ds, false)));
    } else {
        for name in &p.operands {
            let Some(top) = datasets.iter().find(|ds| &ds.name == name) else {
                stderr.push_str(&format!("cannot open '{name}': dataset does not exist\n"));
                status = 1;
                continue;
            };
            if type_ok(top, types.is_none()) {
                selected.push(top);
            }
            if recursive {
                selected.extend(datasets.iter().filter(|ds| {
                    let below = ds
                        .name
                        .strip_prefix(name.as_str())
                        .filter(|r| r.starts_with('/') || r.starts_with('@'));
                    below.is_some_and(|r| {
                        max_depth.is_none_or(|d| r.matches(['/', '@']).count() <= d)
                    }) && type_ok(ds, false)
                }));
            }
        }
    }
    let exact = p.has("p");
    let rows: Vec<Vec<String>> = selected
        .iter()
        .map(|ds| {
            columns
                .iter()
                .map(|c| column_value(ds, c, exact).unwrap_or_default())
                .collect()
        })
        .collect();
    let stdout = if p.has("H") {
        table::render_tabs(&rows)
    } else if rows.is_empty() {
        if status == 0 {
            stderr.push_str("no datasets available\n");
        }
        String::new()
    } else {
        let headers: Vec<String> = columns.iter().map(|c| header(c)).collect();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let aligns: Vec<Align> = columns
            .iter()
            .map(|c| {
                if matches!(
                    c.as_str(),
                    "used" | "avail" | "available" | "refer" | "referenced"
                ) {
                    Align::Right
                } else {
                    Align::Left
                }
            })
            .collect();
        table::render(Some(&header_refs), &rows, &aligns, "  ")
    };
    Reply {
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
        status,
    }
}

fn header(column: &str) -> String {
    match column {
        "available" => "AVAIL".to_string(),
        "referenced" => "REFER".to_string(),
        other => other.to_uppercase(),
    }
}

fn column_value(ds: &Dataset, column: &str, exact: bool) -> Option<String> {
    let size = |text: &str| {
        if exact {
            parse_size(text).map_or_else(|| text.to_string(), |b| b.to_string())
        } else {
            text.to_string()
        }
    };
    Some(match column {
        "name" => ds.name.clone(),
        "used" => size(&ds.used),
        "avail" | "available" => size(&ds.avail),
        "refer" | "referenced" => size(&ds.refer),
        "mountpoint" => ds.mountpoint.clone(),
        "type" => dataset_type(ds).to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("1K"), Some(1024));
        assert_eq!(parse_size("1.50G"), Some(1_610_612_736));
        assert_eq!(parse_size("-"), None);
    }
}
