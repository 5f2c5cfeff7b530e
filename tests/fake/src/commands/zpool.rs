//! `zpool list|status|history` (illumos `zpool_main.c`): history prints
//! `History for '<pool>':`, one record per line and a blank line per pool; an unknown pool is
//! `cannot open '<pool>': no such pool` (exit 1).

use super::zfs::parse_size;
use crate::args::{self, Opt};
use crate::reply::Reply;
use crate::sim::Sim;
use crate::state::Host;
use crate::table::{self, Align};

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    let host = sim.host();
    match args.first().map(String::as_str) {
        Some("list") => list(host, &args[1..]),
        Some("status") => status(host, &args[1..]),
        Some("history") => history(host, &args[1..]),
        Some(other) => Reply::error(
            2,
            format!("unrecognized command '{other}'\nusage: zpool command args ...\n"),
        ),
        None => Reply::error(2, "usage: zpool command args ...\n"),
    }
}

/// Pool names known on the host: from history, `zpool status` and top-level datasets.
fn pools(host: &Host) -> Vec<String> {
    let mut names: Vec<String> = host.zpool_history.iter().map(|h| h.pool.clone()).collect();
    names.extend(
        host.zpool_status
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pool: "))
            .map(|p| p.trim().to_string()),
    );
    names.extend(
        host.datasets
            .iter()
            .filter(|d| !d.name.contains(['/', '@']))
            .map(|d| d.name.clone()),
    );
    let mut unique = Vec::new();
    for n in names {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    unique
}

fn no_such_pool(name: &str) -> String {
    format!("cannot open '{name}': no such pool\n")
}

fn history(host: &Host, args: &[String]) -> Reply {
    let p = match args::parse(args, &[Opt::flag('i'), Opt::flag('l')], false) {
        Ok(p) => p,
        Err(e) => return Reply::error(2, format!("{e}\nusage:\n\thistory [-il] [<pool>] ...\n")),
    };
    let wanted: Vec<String> = if p.operands.is_empty() {
        pools(host)
    } else {
        p.operands.clone()
    };
    if wanted.is_empty() {
        return Reply::error(1, "no pools available\n");
    }
    let mut out = String::new();
    let mut err = String::new();
    for pool in &wanted {
        if !pools(host).contains(pool) {
            err.push_str(&no_such_pool(pool));
            continue;
        }
        out.push_str(&format!("History for '{pool}':\n"));
        for record in host
            .zpool_history
            .iter()
            .filter(|h| &h.pool == pool)
            .flat_map(|h| &h.records)
        {
            out.push_str(record);
            out.push('\n');
        }
        out.push('\n');
    }
    Reply {
        stdout: out.into_bytes(),
        status: i32::from(!err.is_empty()),
        stderr: err.into_bytes(),
    }
}

fn status(host: &Host, args: &[String]) -> Reply {
    let p = match args::parse(
        args,
        &[
            Opt::flag('x'),
            Opt::flag('v'),
            Opt::flag('D'),
            Opt::flag('P'),
        ],
        false,
    ) {
        Ok(p) => p,
        Err(e) => {
            return Reply::error(
                2,
                format!("{e}\nusage:\n\tstatus [-vxD] [-T d|u] [pool] ... [interval [count]]\n"),
            )
        }
    };
    if let Some(missing) = p.operands.iter().find(|o| !pools(host).contains(o)) {
        return Reply::error(1, no_such_pool(missing));
    }
    if host.zpool_status.is_empty() {
        return Reply::ok("no pools available\n");
    }
    if p.has("x")
        && !host
            .zpool_status
            .lines()
            .any(|l| l.trim().starts_with("state:") && !l.contains("ONLINE"))
    {
        return Reply::ok("all pools are healthy\n");
    }
    let mut text = host.zpool_status.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Reply::ok(text)
}

/// One pool's `zpool list` cells, derived from its top-level dataset and status.
fn pool_row(host: &Host, pool: &str, exact: bool) -> Vec<String> {
    let top = host.datasets.iter().find(|d| d.name == pool);
    let used = top.and_then(|d| parse_size(&d.used)).unwrap_or(0);
    let avail = top.and_then(|d| parse_size(&d.avail)).unwrap_or(0);
    let size = used + avail;
    let cap = (used * 100).checked_div(size).unwrap_or(0);
    let health = host
        .zpool_status
        .lines()
        .skip_while(|l| l.trim() != format!("pool: {pool}"))
        .find_map(|l| {
            l.trim()
                .strip_prefix("state:")
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "ONLINE".to_string());
    let human = |bytes: u64| {
        if exact {
            bytes.to_string()
        } else {
            human_size(bytes)
        }
    };
    vec![
        pool.to_string(),
        human(size),
        human(used),
        human(avail),
        "-".into(),
        "-".into(),
        if exact { "12".into() } else { "12%".into() },
        if exact {
            cap.to_string()
        } else {
            format!("{cap}%")
        },
        "1.00x".into(),
        health,
        "-".into(),
    ]
}

/// zfs-style size: three significant digits and a unit (`1.45G`, `206M`).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        return bytes.to_string();
    }
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.digits$}{}", UNITS[unit])
}

fn list(host: &Host, args: &[String]) -> Reply {
    let p = match args::parse(args, &[Opt::flag('H'), Opt::flag('p'), Opt::flag('v'), Opt::value('o')], false) {
        Ok(p) => p,
        Err(e) => return Reply::error(2, format!("{e}\nusage:\n\tlist [-Hpv] [-o property[,...]] [-T d|u] [pool] ... [interval [count]]\n")),
    };
    const HEADERS: [&str; 11] = [
        "NAME", "SIZE", "ALLOC", "FREE", "CKPOINT", "EXPANDSZ", "FRAG", "CAP", "DEDUP", "HEALTH",
        "ALTROOT",
    ];
    let known = pools(host);
    let wanted: Vec<String> = if p.operands.is_empty() {
        known.clone()
    } else {
        p.operands.clone()
    };
    if let Some(missing) = wanted.iter().find(|w| !known.contains(w)) {
        return Reply::error(1, no_such_pool(missing));
    }
    if wanted.is_empty() {
        return Reply::ok("no pools available\n");
    }
    let mut rows: Vec<Vec<String>> = wanted
        .iter()
        .map(|pool| pool_row(host, pool, p.has("p")))
        .collect();
    let mut headers: Vec<&str> = HEADERS.to_vec();
    if let Some(cols) = p.value("o") {
        let idx: Vec<usize> = cols
            .split(',')
            .filter_map(|c| {
                let c = c.trim().to_uppercase();
                let c = match c.as_str() {
                    "ALLOCATED" => "ALLOC".to_string(),
                    "CAPACITY" => "CAP".to_string(),
                    "FRAGMENTATION" => "FRAG".to_string(),
                    _ => c,
                };
                HEADERS.iter().position(|h| *h == c)
            })
            .collect();
        headers = idx.iter().map(|&i| HEADERS[i]).collect();
        rows = rows
            .into_iter()
            .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
            .collect();
    }
    if p.has("H") {
        return Reply::ok(table::render_tabs(&rows));
    }
    let aligns: Vec<Align> = headers
        .iter()
        .map(|h| {
            if matches!(*h, "NAME" | "HEALTH" | "ALTROOT") {
                Align::Left
            } else {
                Align::Right
            }
        })
        .collect();
    Reply::ok(table::render(Some(&headers), &rows, &aligns, "  "))
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512");
        assert_eq!(human_size(1_556_925_644), "1.45G");
        assert_eq!(human_size(216_006_656), "206M");
    }
}
