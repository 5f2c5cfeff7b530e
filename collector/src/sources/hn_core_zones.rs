//! Core service zones on the headnode: each zone's SMF log(s) and its hourly-rotated logs in
//! `/var/log/sdc/upload/` whose hour overlaps the window (reference §3.2, §3.3).

use super::{file_tasks, plan_note_zone, rotated_in_window, yes, Applies, Part, SourceDecl};
use crate::context::Context;
use crate::plan::{Cost, LogFormat, Task};

/// Where one role's logs are, inside its zone.
pub struct CoreZoneLogs {
    /// `tags.smartdc_role`.
    pub role: &'static str,
    /// Source name in the manifest.
    pub source: &'static str,
    /// File-name prefixes in `/var/svc/log/` (FMRI with `/` → `-`, then `:instance`).
    pub smf_prefixes: &'static [&'static str],
    /// Other log files, absolute inside the zone.
    pub other_files: &'static [&'static str],
    /// logadm rotation names in `/var/log/sdc/upload/` (`<name>_<zone>_<stamp>.log`).
    pub rotated: &'static [&'static str],
    /// How its logs are cut to the window (every role but rabbitmq logs bunyan).
    pub format: LogFormat,
}

/// The core zones and their logs (reference §3.2).
pub const CORE_ZONES: &[CoreZoneLogs] = &[
    CoreZoneLogs {
        role: "vmapi",
        source: "vmapi.log",
        smf_prefixes: &["smartdc-site-vmapi:"],
        other_files: &[],
        rotated: &["vmapi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "cnapi",
        source: "cnapi.log",
        smf_prefixes: &["smartdc-site-cnapi:"],
        other_files: &[],
        rotated: &["cnapi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "workflow",
        source: "workflow.log",
        smf_prefixes: &[
            "smartdc-application-wf-api:",
            "smartdc-application-wf-runner:",
            "smartdc-application-wf-backfill:",
        ],
        other_files: &[],
        rotated: &["wf-api", "wf-runner", "wf-backfill"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "imgapi",
        source: "imgapi.log",
        smf_prefixes: &["smartdc-site-imgapi:"],
        other_files: &[],
        rotated: &["imgapi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "napi",
        source: "napi.log",
        smf_prefixes: &["smartdc-application-napi:"],
        other_files: &[],
        rotated: &["napi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "fwapi",
        source: "fwapi.log",
        smf_prefixes: &["smartdc-application-fwapi:"],
        other_files: &[],
        rotated: &["fwapi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "ufds",
        source: "ufds.log",
        smf_prefixes: &[
            "smartdc-application-ufds-master:",
            "smartdc-application-ufds-capi:",
        ],
        other_files: &[],
        rotated: &["ufds-master", "ufds-capi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "cloudapi",
        source: "cloudapi.log",
        smf_prefixes: &["smartdc-application-cloudapi:"],
        other_files: &["/var/log/cloudapi.log"],
        rotated: &["cloudapi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "adminui",
        source: "adminui.log",
        smf_prefixes: &["smartdc-application-adminui:"],
        other_files: &[],
        rotated: &["adminui"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "sapi",
        source: "sapi.log",
        smf_prefixes: &["smartdc-application-sapi:"],
        other_files: &[],
        rotated: &["sapi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "papi",
        source: "papi.log",
        smf_prefixes: &["smartdc-application-papi:"],
        other_files: &[],
        rotated: &["papi"],
        format: LogFormat::Bunyan,
    },
    CoreZoneLogs {
        role: "rabbitmq",
        source: "rabbitmq.log",
        smf_prefixes: &[],
        other_files: &["/var/log/rabbitmq/rabbit.log"],
        rotated: &[],
        format: LogFormat::Whole,
    },
];

const WHAT: &str =
    "core zone SMF log(s) and rotated /var/log/sdc/upload/ files overlapping the window";

pub const SOURCES: &[SourceDecl] = &[
    decl("vmapi.log"),
    decl("cnapi.log"),
    decl("workflow.log"),
    decl("imgapi.log"),
    decl("napi.log"),
    decl("fwapi.log"),
    decl("ufds.log"),
    decl("cloudapi.log"),
    decl("adminui.log"),
    decl("sapi.log"),
    decl("papi.log"),
    decl("rabbitmq.log"),
];

const fn decl(name: &'static str) -> SourceDecl {
    SourceDecl {
        name,
        part: Part::Headnode,
        what: WHAT,
        plan: plan_core_zone,
    }
}

/// The roles looked up with `vmadm lookup`.
pub fn roles() -> impl Iterator<Item = &'static str> {
    CORE_ZONES.iter().map(|z| z.role)
}

fn plan_core_zone(ctx: &Context, decl: &SourceDecl) -> Applies {
    let Some(logs) = CORE_ZONES.iter().find(|z| z.source == decl.name) else {
        return Applies::No(format!("no core-zone table entry for {}", decl.name));
    };
    let zones: Vec<_> = ctx
        .core_zones
        .iter()
        .filter(|z| z.role == logs.role)
        .collect();
    if zones.is_empty() {
        return match &ctx.core_zone_error {
            Some(e) => yes(
                "core zones could not be listed",
                vec![plan_note_zone(decl.name, logs.role, e)],
            ),
            None => Applies::No(format!(
                "no running zone with tags.smartdc_role={} on this headnode",
                logs.role
            )),
        };
    }
    let mut tasks = Vec::new();
    for zone in &zones {
        let root = format!("/zones/{}/root", zone.uuid);
        if !logs.smf_prefixes.is_empty() {
            let prefixes = logs.smf_prefixes;
            tasks.extend(
                file_tasks(
                    ctx,
                    decl.name,
                    Cost::Medium,
                    &root,
                    &format!("{root}/var/svc/log"),
                    &|name: &str| prefixes.iter().any(|p| name.starts_with(p)),
                )
                .into_iter()
                .map(|t| t.time_sliced(logs.format)),
            );
        }
        for file in logs.other_files {
            tasks.push(
                Task::file(decl.name, Cost::Medium, format!("{root}{file}"), &root)
                    .time_sliced(logs.format),
            );
        }
        if !logs.rotated.is_empty() {
            tasks.extend(
                file_tasks(
                    ctx,
                    decl.name,
                    Cost::Expensive,
                    &root,
                    &format!("{root}/var/log/sdc/upload"),
                    &rotated_in_window(ctx, logs.rotated),
                )
                .into_iter()
                .map(|t| t.time_sliced(logs.format)),
            );
        }
    }
    let names: Vec<String> = zones
        .iter()
        .map(|z| z.alias.clone().unwrap_or_else(|| z.uuid.clone()))
        .collect();
    yes(format!("core zone(s) {}", names.join(", ")), tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::FoundZone;
    use crate::plan::Action;

    const ZONE: &str = "94a47caf-3c09-4a8c-8db7-192afe6d18c1";

    fn context(root: &std::path::Path) -> Context {
        let mut ctx = Context::for_test(root, "2024-01-18T03:10:00Z", "2024-01-18T03:20:00Z");
        ctx.headnode = true;
        ctx.cn_part = false;
        ctx.core_zones = vec![FoundZone {
            role: "vmapi".into(),
            uuid: ZONE.into(),
            alias: Some("vmapi0".into()),
        }];
        ctx
    }

    #[test]
    fn plans_the_smf_log_and_the_rotated_hour_of_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zone = dir.path().join(format!("zones/{ZONE}/root"));
        std::fs::create_dir_all(zone.join("var/svc/log")).expect("mkdir");
        std::fs::create_dir_all(zone.join("var/log/sdc/upload")).expect("mkdir");
        for f in [
            "smartdc-site-vmapi:default.log",
            "smartdc-site-vmapi:default.log.0",
            "system-other:default.log",
        ] {
            std::fs::write(zone.join("var/svc/log").join(f), "x").expect("write");
        }
        for hour in ["03", "04", "05"] {
            let name = format!("vmapi_{ZONE}_2024-01-18T{hour}:00:00.log");
            std::fs::write(zone.join("var/log/sdc/upload").join(name), "x").expect("write");
        }
        std::fs::write(
            zone.join(format!(
                "var/log/sdc/upload/cnapi_{ZONE}_2024-01-18T04:00:00.log"
            )),
            "x",
        )
        .expect("write");
        let ctx = context(dir.path());
        let Applies::Yes { tasks, why } = plan_core_zone(&ctx, &SOURCES[0]) else {
            panic!("vmapi.log should apply");
        };
        assert!(why.contains("vmapi0"), "{why}");
        let mut paths: Vec<String> = tasks
            .iter()
            .map(|t| match &t.action {
                Action::File { path, within, .. } => {
                    assert_eq!(within, &format!("/zones/{ZONE}/root"));
                    path.rsplit('/').next().unwrap_or("").to_string()
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            vec![
                "smartdc-site-vmapi:default.log".to_string(),
                "smartdc-site-vmapi:default.log.0".to_string(),
                format!("vmapi_{ZONE}_2024-01-18T04:00:00.log"),
            ]
        );
    }

    #[test]
    fn a_role_without_a_zone_does_not_apply() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = context(dir.path());
        assert!(matches!(plan_core_zone(&ctx, &SOURCES[1]), Applies::No(_)));
    }

    #[test]
    fn every_role_has_a_source() {
        for zone in CORE_ZONES {
            assert!(
                SOURCES.iter().any(|s| s.name == zone.source),
                "{}",
                zone.source
            );
        }
        assert_eq!(SOURCES.len(), CORE_ZONES.len());
    }
}
