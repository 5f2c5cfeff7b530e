//! `svcs` over the host's SMF services per zone (illumos `svcs.c`, `explain.c`).
//!
//! Layout: `STATE` 14 wide, `STIME` 8 wide (`%k:%M:%S` within a day, `%b_%d` within a year,
//! else the year), then the FMRI; without `-a`, disabled services are hidden; sorted by state,
//! time, FMRI. `-Z` adds a 16-wide ZONE column. With `-z`, `-L` paths are prefixed with the
//! zone's root (`zone_get_rootpath`). `-x` explains services needing attention.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::args::{self, Opt};
use crate::reply::Reply;
use crate::sim::{parse_time, Sim};
use crate::state::Service;

const USAGE: &str =
    "Usage: svcs [-aHpv] [-o col[,col ... ]] [-R restarter] [-sS col] [-Z | -z zone ]
            [<service> ...]
       svcs -d | -D [-Hpv] [-o col[,col ... ]] [-sS col] [-Z | -z zone ]
            [<service> ...]
       svcs [-l | -L] [-Z | -z zone] <service> ...
       svcs -x [-v] [-Z | -z zone] [<service> ...]
       svcs -?
";

pub fn run(sim: &Sim, args: &[String]) -> Reply {
    let spec = [
        Opt::flag('a'),
        Opt::flag('H'),
        Opt::flag('p'),
        Opt::flag('v'),
        Opt::flag('x'),
        Opt::flag('L'),
        Opt::flag('l'),
        Opt::flag('Z'),
        Opt::value('z'),
        Opt::value('o'),
        Opt::value('s'),
        Opt::value('S'),
    ];
    let p = match args::parse(args, &spec, false) {
        Ok(p) => p,
        Err(e) => return Reply::error(2, format!("svcs: {e}\n{USAGE}")),
    };
    let now = sim.now().unwrap_or(Timestamp::UNIX_EPOCH);
    let services = &sim.host().services;
    // (zone name, services of that zone)
    let zones: Vec<(&str, &Vec<Service>)> = if p.has("Z") {
        services.iter().map(|(z, s)| (z.as_str(), s)).collect()
    } else {
        let zone = p.value("z").unwrap_or("global");
        match services.get(zone) {
            Some(s) => vec![(zone, s)],
            None if zone == "global" => Vec::new(),
            None => return Reply::error(1, format!("svcs: invalid zone '{zone}'\n")),
        }
    };
    let in_zone = p.value("z").is_some() || p.has("Z");

    if p.has("L") {
        return log_paths(&zones, &p.operands, in_zone);
    }
    if p.has("x") {
        return explain(&zones, &p.operands, in_zone, p.has("v"));
    }

    let mut rows: Vec<(&str, &Service)> = zones
        .iter()
        .flat_map(|(zone, list)| list.iter().map(move |s| (*zone, s)))
        .filter(|(_, s)| {
            if p.operands.is_empty() {
                p.has("a") || s.state != "disabled"
            } else {
                p.operands.iter().any(|o| fmri_matches(&s.fmri, o))
            }
        })
        .collect();
    if let Some(pattern) = p
        .operands
        .iter()
        .find(|o| !rows.iter().any(|(_, s)| fmri_matches(&s.fmri, o)))
    {
        return Reply::error(
            1,
            format!("svcs: Pattern '{pattern}' doesn't match any instances\n"),
        );
    }
    rows.sort_by(|a, b| {
        (a.0, state_rank(&a.1.state), &a.1.since, &a.1.fmri).cmp(&(
            b.0,
            state_rank(&b.1.state),
            &b.1.since,
            &b.1.fmri,
        ))
    });
    let show_zone = p.has("Z");
    let mut out = String::new();
    if !p.has("H") {
        let line = if show_zone {
            format!("{:<16} {:<14} {:<8} FMRI", "ZONE", "STATE", "STIME")
        } else {
            format!("{:<14} {:<8} FMRI", "STATE", "STIME")
        };
        out.push_str(&line);
        out.push('\n');
    }
    for (zone, s) in rows {
        let stime = parse_time(&s.since)
            .map(|t| stime(t, now))
            .unwrap_or_else(|_| "-".to_string());
        if show_zone {
            out.push_str(&format!("{zone:<16} "));
        }
        out.push_str(&format!("{:<14} {:<8} {}\n", s.state, stime, s.fmri));
    }
    Reply::ok(out)
}

/// The STIME cell (GZ clocks run in UTC).
fn stime(then: Timestamp, now: Timestamp) -> String {
    let age = now.as_second() - then.as_second();
    let format = if age < 24 * 60 * 60 {
        "%k:%M:%S"
    } else if age < 12 * 30 * 24 * 60 * 60 {
        "%b_%d"
    } else {
        "%Y"
    };
    then.strftime(format).to_string()
}

fn state_rank(state: &str) -> u8 {
    match state {
        "legacy_run" => 0,
        "disabled" => 1,
        "uninitialized" => 2,
        "online" => 3,
        "degraded" => 4,
        "offline" => 5,
        "maintenance" => 6,
        _ => 7,
    }
}

/// Whether `pattern` names this instance: the full FMRI, or any `/`- or `:`-aligned tail of it
/// (`svc:/system/zoneinit:default`, `system/zoneinit`, `zoneinit:default`, `zoneinit`).
fn fmri_matches(fmri: &str, pattern: &str) -> bool {
    let full = fmri.strip_prefix("svc:").unwrap_or(fmri);
    let pattern = pattern.strip_prefix("svc:").unwrap_or(pattern);
    let service = full.rsplit_once(':').map_or(full, |(s, _)| s);
    [full, service].iter().any(|candidate| {
        candidate == &pattern
            || candidate.strip_prefix('/') == Some(pattern)
            || candidate.ends_with(&format!("/{pattern}"))
    })
}

fn log_path(zone: &str, service: &Service, in_zone: bool) -> String {
    if in_zone && zone != "global" {
        format!("/zones/{zone}/root{}", service.log)
    } else {
        service.log.clone()
    }
}

fn log_paths(zones: &[(&str, &Vec<Service>)], patterns: &[String], in_zone: bool) -> Reply {
    if patterns.is_empty() {
        return Reply::error(
            2,
            format!("svcs: -L requires at least one argument\n{USAGE}"),
        );
    }
    let mut out = String::new();
    let mut err = String::new();
    for pattern in patterns {
        let found: Vec<String> = zones
            .iter()
            .flat_map(|(zone, list)| {
                list.iter()
                    .filter(|s| fmri_matches(&s.fmri, pattern))
                    .map(move |s| log_path(zone, s, in_zone))
            })
            .collect();
        if found.is_empty() {
            err.push_str(&format!(
                "svcs: Pattern '{pattern}' doesn't match any instances\n"
            ));
        }
        for path in found {
            out.push_str(&path);
            out.push('\n');
        }
    }
    Reply {
        stdout: out.into_bytes(),
        status: i32::from(!err.is_empty()),
        stderr: err.into_bytes(),
    }
}

/// `svcs -x [-v]`: one paragraph per service that is not online/disabled/legacy.
fn explain(
    zones: &[(&str, &Vec<Service>)],
    patterns: &[String],
    in_zone: bool,
    verbose: bool,
) -> Reply {
    let mut out = String::new();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    for (zone, list) in zones {
        for s in list.iter() {
            let named = patterns.iter().any(|p| fmri_matches(&s.fmri, p));
            let troubled = matches!(
                s.state.as_str(),
                "maintenance" | "offline" | "degraded" | "uninitialized"
            );
            if !(named || (patterns.is_empty() && troubled))
                || seen.insert(format!("{zone}{}", s.fmri), ()).is_some()
            {
                continue;
            }
            out.push_str(&paragraph(zone, s, in_zone, verbose));
        }
    }
    Reply::ok(out)
}

fn paragraph(zone: &str, s: &Service, in_zone: bool, verbose: bool) -> String {
    let since = parse_time(&s.since)
        .map(|t| t.strftime("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|_| s.since.clone());
    let (default_reason, message_id, impact) = match s.state.as_str() {
        "maintenance" => (
            "Start method exited with $SMF_EXIT_ERR_FATAL.",
            "SMF-8000-KS",
            "This service is not running.",
        ),
        "offline" => (
            "Start method is running.",
            "SMF-8000-C4",
            "This service is not running.",
        ),
        "degraded" => (
            "Restarter svc:/system/svc/restarter:default reported that the service is degraded.",
            "SMF-8000-9C",
            "This service is running with reduced functionality.",
        ),
        "online" | "legacy_run" => ("", "", "None."),
        "disabled" => (
            "Disabled by an administrator.",
            "SMF-8000-05",
            "This service is not running.",
        ),
        _ => (
            "Service has not been initialized.",
            "SMF-8000-4Q",
            "This service is not running.",
        ),
    };
    let reason = s.reason.as_deref().unwrap_or(default_reason);
    let mut text = format!(
        "{} ({})\n State: {} since {since}\n",
        s.fmri, s.description, s.state
    );
    if !reason.is_empty() {
        text.push_str(&format!("Reason: {reason}\n"));
    }
    if !message_id.is_empty() {
        text.push_str(&format!("   See: http://illumos.org/msg/{message_id}\n"));
    }
    if verbose && s.state != "online" {
        text.push_str(&format!(
            "   See: {}(1M)\n",
            s.fmri
                .rsplit('/')
                .next()
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("")
        ));
    }
    text.push_str(&format!("   See: {}\n", log_path(zone, s, in_zone)));
    text.push_str(&format!("Impact: {impact}\n\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmri_abbreviations() {
        let f = "svc:/system/zoneinit:default";
        for p in [
            "svc:/system/zoneinit:default",
            "system/zoneinit:default",
            "zoneinit:default",
            "zoneinit",
            "system/zoneinit",
        ] {
            assert!(fmri_matches(f, p), "{p}");
        }
        assert!(!fmri_matches(f, "init"));
    }

    #[test]
    fn stime_formats() {
        let now: Timestamp = "2024-06-18T10:00:00Z".parse().unwrap();
        assert_eq!(
            stime("2024-06-18T09:05:07Z".parse().unwrap(), now),
            " 9:05:07"
        );
        assert_eq!(
            stime("2024-01-05T09:05:07Z".parse().unwrap(), now),
            "Jan_05"
        );
        assert_eq!(stime("2022-01-05T09:05:07Z".parse().unwrap(), now), "2022");
    }
}
