//! End-to-end: the real `triton-collect` binary against a simulated datacenter.

mod common;

use common::{stderr, stdout, Dc, ReadBundle};
use serde_json::json;

#[test]
fn collects_the_evidence_of_a_failed_kvm_provision() {
    let dc = Dc::create();
    let out_path = dc.out("b1.tar.gz");
    let out = dc.collect(&["--vm", &dc.vm(), "--out", out_path.to_str().expect("utf8")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("bundle: ") && err.contains("sha256: "),
        "{err}"
    );
    let sha_file =
        std::fs::read_to_string(format!("{}.sha256", out_path.display())).expect(".sha256 beside");
    assert!(sha_file.contains("b1.tar.gz"), "{sha_file}");

    let bundle = ReadBundle::open(&out_path);
    assert!(bundle.manifest.complete, "{:#?}", bundle.manifest.notes);

    // Every piece of evidence the scenario names is in the bundle, at the line the manifest
    // says the original line is (`slice.first_line` for a log cut to the window).
    let mut cut_logs_cited = 0;
    for evidence in dc.provision()["evidence"].as_array().expect("evidence") {
        let contains = evidence["contains"].as_str().expect("contains");
        if let Some(path) = evidence["path"].as_str() {
            let host = evidence["host"].as_str().expect("host");
            let entry = format!("hosts/{host}/files/{}", path.trim_start_matches('/'));
            let text = bundle.text(&entry);
            let item = bundle
                .manifest
                .items
                .iter()
                .find(|i| i.path.as_deref() == Some(entry.as_str()))
                .expect("manifest item of the evidence");
            let original_line = evidence["line"].as_u64().expect("line");
            let line = match item.slice {
                Some(slice) => {
                    cut_logs_cited += 1;
                    let first = slice.first_line.expect("a small log's first line is known");
                    assert!(first <= original_line, "{entry}: evidence cut away");
                    original_line - first + 1
                }
                None => original_line,
            } as usize;
            let found = text.lines().nth(line - 1).unwrap_or("");
            assert!(
                found.contains(contains),
                "{entry}:{line} (original line {original_line}) is {found:?}, expected {contains:?}"
            );
        } else if let Some(api) = evidence["api"].as_str() {
            let suffix = format!("{api}.json");
            let hit = bundle.entries.iter().any(|(p, d)| {
                p.starts_with("api/")
                    && p.ends_with(&suffix)
                    && String::from_utf8_lossy(d).contains(contains)
            });
            assert!(hit, "API evidence {api} with {contains:?} missing");
        } else if let Some(command) = evidence["command"].as_str() {
            let host = evidence["host"].as_str().expect("host");
            let name = command.replace(' ', "-");
            let entry = format!("hosts/{host}/commands/{name}.out");
            assert!(
                bundle.text(&entry).contains(contains),
                "{entry} lacks {contains:?}"
            );
        }
    }

    assert!(
        cut_logs_cited > 0,
        "the scenario cites a log cut to the window"
    );

    // The CN's qemu log came through the fake sdc-oneachnode.
    let vm_log = format!("hosts/{}/files/zones/{}/root/tmp/vm.log", dc.cn(), dc.vm());
    assert!(bundle.text(&vm_log).contains("Failed to allocate memory"));
    assert!(bundle
        .manifest
        .hosts
        .iter()
        .any(|h| h.server_uuid == dc.cn() && h.error.is_none()));

    // The job in full, with its HTTP status, and the VM's other API objects.
    let job_path = format!("api/workflow/jobs/{}.json", dc.job());
    let job: serde_json::Value = serde_json::from_str(&bundle.text(&job_path)).expect("job json");
    assert_eq!(job["uuid"], dc.job().as_str());
    assert!(
        job.get("chain").is_some() || job.get("elapsed").is_some(),
        "full job, not the trimmed view"
    );
    let job_item = bundle
        .manifest
        .items
        .iter()
        .find(|i| i.path.as_deref() == Some(job_path.as_str()))
        .expect("item");
    assert_eq!(job_item.http_status, Some(200));
    assert!(bundle
        .entries
        .contains_key(&format!("api/vmapi/vms/{}.json", dc.vm())));
    assert!(bundle
        .entries
        .contains_key(&format!("api/cnapi/servers/{}.json", dc.cn())));

    // Core-zone logs of the headnode.
    let hn = dc.headnode();
    for log in [
        "smartdc-site-vmapi:default.log",
        "smartdc-site-cnapi:default.log",
        "smartdc-application-wf-runner:default.log",
    ] {
        assert!(
            bundle
                .entries
                .keys()
                .any(|p| p.starts_with(&format!("hosts/{hn}/files/zones/")) && p.ends_with(log)),
            "{log} missing"
        );
    }
    let core_zones = &bundle
        .manifest
        .hosts
        .iter()
        .find(|h| h.server_uuid == hn)
        .expect("hn")
        .core_zones;
    assert!(core_zones.iter().any(|z| z.role == "vmapi"));

    // The window came from the job.
    let window = bundle.manifest.scope.window.as_ref().expect("window");
    assert!(
        window.derived_from.starts_with("jobs"),
        "{}",
        window.derived_from
    );

    // Rotated core-zone logs are chosen by the hour in their name: the file stamped T holds the
    // hour before T. Those overlapping the window are in, the others were never read.
    let since: jiff::Timestamp = window.since.parse().expect("since");
    let until: jiff::Timestamp = window.until.parse().expect("until");
    let (mut inside, mut outside) = (0, 0);
    for zone in std::fs::read_dir(dc.dir.join("hn/zones"))
        .expect("zones")
        .filter_map(|e| e.ok())
    {
        let upload = zone.path().join("root/var/log/sdc/upload");
        for file in std::fs::read_dir(&upload)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
        {
            let name = file.file_name().to_string_lossy().to_string();
            let Some(stamp) = name
                .strip_suffix(".log")
                .and_then(|b| b.rsplit_once('_'))
                .map(|(_, s)| s)
            else {
                continue;
            };
            let Ok(end) = format!("{stamp}Z").parse::<jiff::Timestamp>() else {
                continue;
            };
            let start = end
                .checked_sub(jiff::SignedDuration::from_hours(1))
                .expect("start");
            let entry = format!(
                "hosts/{hn}/files/zones/{}/root/var/log/sdc/upload/{name}",
                zone.file_name().to_string_lossy()
            );
            if start <= until && end >= since {
                inside += 1;
                assert!(
                    bundle.entries.contains_key(&entry),
                    "{entry} overlaps the window but is missing"
                );
            } else {
                outside += 1;
                assert!(
                    !bundle.entries.contains_key(&entry),
                    "{entry} is outside the window but was collected"
                );
            }
        }
    }
    assert!(
        inside > 0 && outside > 0,
        "the scenario has rotated files on both sides ({inside}/{outside})"
    );

    // Nothing left behind on the CN, nor beside the bundle.
    for cn in dc.cn_dirs() {
        let left: Vec<_> = std::fs::read_dir(cn.join("var/tmp"))
            .expect("var/tmp")
            .collect();
        assert!(left.is_empty(), "files left on {}: {left:?}", cn.display());
    }
    let beside: Vec<String> = std::fs::read_dir(dc.tmp.path())
        .expect("tmp")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "dc")
        .collect();
    assert_eq!(
        beside.len(),
        2,
        "only the bundle and its .sha256: {beside:?}"
    );
}

#[test]
fn secrets_from_usbkey_config_are_redacted_unless_asked_not_to() {
    let dc = Dc::create();
    let config = std::fs::read_to_string(dc.dir.join("hn/usbkey/config")).expect("config");
    let secrets: Vec<String> = config
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, v)| (k.ends_with("_pw") || k.contains("password")) && v.len() >= 6)
        .map(|(_, v)| v.to_string())
        .collect();
    assert!(
        !secrets.is_empty(),
        "the scenario plants passwords in /usbkey/config"
    );

    // A customer VM whose metadata holds a password (VMAPI object, `vmadm get` on its CN).
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dc.dir.join("sim/state.json")).expect("state"))
            .expect("json");
    let (secret_vm, metadata_secrets) = state["compute_nodes"]
        .as_array()
        .expect("compute_nodes")
        .iter()
        .flat_map(|cn| cn["vms"].as_array().into_iter().flatten())
        .find_map(|vm| {
            let mut found = Vec::new();
            collect_secret_values(vm, &mut found);
            let uuid = vm["uuid"].as_str()?.to_string();
            (!found.is_empty()).then_some((uuid, found))
        })
        .expect("the scenario plants passwords in VM metadata");

    let out_path = dc.out("redacted.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--vm",
        &secret_vm,
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let bundle = ReadBundle::open(&out_path);
    for secret in secrets.iter().chain(&metadata_secrets) {
        assert!(
            !bundle.contains_anywhere(secret),
            "secret {secret} in the bundle"
        );
    }
    let config_item = bundle.items("usbkey.config")[0];
    assert!(
        config_item.redactions.values().sum::<u64>() >= secrets.len() as u64,
        "{:?}",
        config_item.redactions
    );
    assert!(bundle.manifest.collector.redacted);
    // The join keys survive.
    assert!(bundle.contains_anywhere(&dc.vm()));

    let raw_path = dc.out("raw.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--vm",
        &secret_vm,
        "--no-redact",
        "--out",
        raw_path.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let raw = ReadBundle::open(&raw_path);
    assert!(!raw.manifest.collector.redacted);
    assert!(raw.contains_anywhere(&secrets[0]));
    assert!(
        metadata_secrets.iter().any(|s| raw.contains_anywhere(s)),
        "without redaction the VM's password is in the bundle"
    );
}

/// String values of `*_pw` and `*password*` fields anywhere in `value`.
fn collect_secret_values(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match v.as_str() {
                    Some(text)
                        if (key.ends_with("_pw") || key.contains("password"))
                            && text.len() >= 6 =>
                    {
                        out.push(text.to_string())
                    }
                    _ => collect_secret_values(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_secret_values(v, out)),
        _ => {}
    }
}

#[test]
fn symlinks_leaving_a_zone_root_are_not_followed() {
    let dc = Dc::create();
    let cn_root = dc.dir.join("cn").join(dc.cn());
    std::fs::create_dir_all(cn_root.join("etc")).expect("mkdir");
    std::fs::write(
        cn_root.join("etc/shadow"),
        "root:GLOBAL-ZONE-SHADOW-MARKER:::\n",
    )
    .expect("write");
    let tmp = cn_root.join(format!("zones/{}/root/tmp", dc.vm()));
    std::os::unix::fs::symlink("/etc/shadow", tmp.join("vm.log.8")).expect("symlink");
    std::os::unix::fs::symlink("../../../../../etc/shadow", tmp.join("vm.log.9")).expect("symlink");

    let out_path = dc.out("symlinks.tar.gz");
    let out = dc.collect(&["--vm", &dc.vm(), "--out", out_path.to_str().expect("utf8")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a refused file makes the bundle incomplete: {}",
        stderr(&out)
    );
    let bundle = ReadBundle::open(&out_path);
    assert!(!bundle.contains_anywhere("GLOBAL-ZONE-SHADOW-MARKER"));
    for name in ["vm.log.8", "vm.log.9"] {
        let item = bundle
            .manifest
            .items
            .iter()
            .find(|i| matches!(&i.origin, triton_bundle::manifest::Origin::File { path } if path.ends_with(name)))
            .unwrap_or_else(|| panic!("no item for {name}"));
        assert!(item.path.is_none());
        assert!(
            item.error
                .as_deref()
                .is_some_and(|e| e.contains("outside the zone root")),
            "{:?}",
            item.error
        );
    }
    // The real qemu log next to them is still collected.
    assert!(bundle.entries.contains_key(&format!(
        "hosts/{}/files/zones/{}/root/tmp/vm.log",
        dc.cn(),
        dc.vm()
    )));
}

#[test]
fn an_unreachable_compute_node_is_recorded_with_the_command_to_run_by_hand() {
    let dc = Dc::create();
    dc.edit_cn(&dc.cn(), |cn| cn["reachable"] = json!(false));
    let out_path = dc.out("unreachable.tar.gz");
    let out = dc.collect(&["--vm", &dc.vm(), "--out", out_path.to_str().expect("utf8")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--cn-mode") && err.contains(&format!("--vm {}", dc.vm())),
        "manual command: {err}"
    );
    let bundle = ReadBundle::open(&out_path);
    assert!(!bundle.manifest.complete);
    let host = bundle
        .manifest
        .hosts
        .iter()
        .find(|h| h.server_uuid == dc.cn())
        .expect("CN recorded");
    assert!(
        host.error
            .as_deref()
            .is_some_and(|e| e.contains("exit 10") || e.contains("unreachable")),
        "{:?}",
        host.error
    );
    // The headnode part is still there.
    assert!(bundle
        .entries
        .contains_key(&format!("api/workflow/jobs/{}.json", dc.job())));
}

#[test]
fn a_hanging_command_is_killed_at_the_timeout_and_recorded() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "svcs", "args_contain": "-xv",
                                              "kind": {"kind": "hang", "seconds": 60}}]);
    });
    let out_path = dc.out("timeout.tar.gz");
    let started = std::time::Instant::now();
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--command-timeout",
        "2",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    let item = bundle.items("svcs.global")[0];
    assert!(item.timed_out, "{item:?}");
    assert!(item
        .error
        .as_deref()
        .is_some_and(|e| e.contains("timed out")));
    assert!(stderr(&out).contains("svcs.global"), "summary names it");
}

#[test]
fn endless_output_is_capped() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] = json!([{"command": "svcs", "kind": {"kind": "flood"}}]);
    });
    let out_path = dc.out("flood.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--max-file-bytes",
        "200k",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    let item = bundle.items("svcs.global")[0];
    assert!(item.truncated && item.bytes <= 200 * 1024, "{item:?}");
}

#[test]
fn without_scope_the_failed_provisions_of_the_last_day_are_collected() {
    let dc = Dc::create();
    let out_path = dc.out("noscope.tar.gz");
    let out = dc.collect(&["--cn", "none", "--out", out_path.to_str().expect("utf8")]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    let bundle = ReadBundle::open(&out_path);
    assert!(
        bundle.manifest.scope.job_uuids.contains(&dc.job()),
        "{:?}",
        bundle.manifest.scope
    );
    assert!(bundle
        .entries
        .contains_key(&format!("api/workflow/jobs/{}.json", dc.job())));
    assert!(!bundle.items("workflow.failed-jobs").is_empty());
    for noise in dc.expected["noise"]["other_jobs"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let noise = noise.as_str().expect("uuid");
        assert!(
            !bundle.manifest.scope.job_uuids.iter().any(|j| j == noise)
                || noise_is_related(&dc, noise)
        );
    }
}

/// A noise job may belong to the failed VM (e.g. a later destroy); only unrelated ones must stay out.
fn noise_is_related(dc: &Dc, job: &str) -> bool {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dc.dir.join("sim/state.json")).expect("state"))
            .expect("json");
    state["api"]["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|j| {
            j["uuid"] == job
                && (j["params"]["vm_uuid"] == dc.vm().as_str() || j["vm_uuid"] == dc.vm().as_str())
        })
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dc = Dc::create();
    let out_path = dc.out("dry.tar.gz");
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--dry-run",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!out_path.exists() && !dc.out("dry.tar.gz.sha256").exists());
    assert!(
        text.contains(&format!("sdc-vmapi /vms/{}", dc.vm())),
        "{text}"
    );
    assert!(
        text.contains("file /usbkey/config  ["),
        "file with its size: {text}"
    );
    assert!(text.contains("smartdc-site-vmapi:default.log"), "{text}");
    assert!(text.contains(&dc.cn()), "compute nodes to collect: {text}");
}

#[test]
fn list_sources_says_what_applies_and_why() {
    let dc = Dc::create();
    let out = dc.collect(&["--vm", &dc.vm(), "--list-sources"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for source in [
        "vmapi.log",
        "cn-agent.tasks",
        "vm.log",
        "zpool.history",
        "zones.archive",
        "workflow.job",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(source))
            .unwrap_or_else(|| panic!("{source} missing: {text}"));
        assert!(line.contains(" yes ") || line.contains(" no "), "{line}");
    }
    let vmapi = text
        .lines()
        .find(|l| l.starts_with("vmapi.log"))
        .expect("vmapi.log");
    assert!(vmapi.contains(" yes "), "{vmapi}");
    let vm_log = text
        .lines()
        .find(|l| l.starts_with("vm.log"))
        .expect("vm.log");
    assert!(
        vm_log.contains(" no ") && vm_log.contains("CN"),
        "collected on the CN, not here: {vm_log}"
    );
}

#[test]
fn usage_errors_and_unwritable_output() {
    let dc = Dc::create();
    let out = dc.collect(&["--vm", "not-a-uuid"]);
    assert_eq!(out.status.code(), Some(2));
    let out = dc.collect(&[
        "--since",
        "2024-01-02T00:00:00Z",
        "--until",
        "2024-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--out",
        "/nonexistent-dir/x/b.tar.gz",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // Nothing to upload when no bundle is written: said at once, not silently ignored.
    for inspect in ["--dry-run", "--list-sources"] {
        let out = dc.collect(&["--vm", &dc.vm(), inspect, "--upload"]);
        assert_eq!(out.status.code(), Some(2), "{inspect}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{inspect}: {}",
            stderr(&out)
        );
    }
    let help = std::process::Command::new(common::collect_bin())
        .arg("--help")
        .output()
        .expect("help");
    let help = stdout(&help);
    for flag in [
        "--vm",
        "--job",
        "--since",
        "--until",
        "--last",
        "--out",
        "--root",
        "--cn",
        "--max-bytes",
        "--max-file-bytes",
        "--command-timeout",
        "--deadline",
        "--no-redact",
        "--list-sources",
        "--dry-run",
        "--quiet",
        "--verbose",
    ] {
        assert!(help.contains(flag), "{flag} not documented");
    }
    assert!(help.contains("1  bundle written but incomplete"), "{help}");
}

#[test]
fn without_sdc_commands_it_collects_the_compute_node_it_runs_on() {
    let dc = Dc::create();
    // A PATH as on a compute node: the platform commands, no sdc-* API wrappers.
    let bin = dc.tmp.path().join("cn-bin");
    std::fs::create_dir(&bin).expect("mkdir");
    for entry in std::fs::read_dir(dc.dir.join("bin")).expect("bin") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("sdc-") {
            std::os::unix::fs::symlink(entry.path(), bin.join(&name)).expect("symlink");
        }
    }
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dc.dir.join("sim/state.json")).expect("state"))
            .expect("json");
    let job = state["api"]["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["uuid"] == dc.job().as_str())
        .expect("job");
    let created: jiff::Timestamp = job["created_at"]
        .as_str()
        .expect("created_at")
        .parse()
        .expect("ts");
    let since = created
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .expect("since");
    let until = created
        .checked_add(jiff::SignedDuration::from_hours(1))
        .expect("until");

    let out_path = dc.out("cn.tar.gz");
    let out = std::process::Command::new(common::collect_bin())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("TRITON_SIM_DIR", &dc.dir)
        .env("TRITON_SIM_HOST", dc.cn())
        .env("TRITON_COLLECT_ROOT", dc.dir.join("cn").join(dc.cn()))
        .env(
            "TRITON_COLLECT_MIN_FREE_BYTES",
            triton_test_support::SIM_MIN_FREE,
        )
        .args([
            "--vm",
            &dc.vm(),
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
        ])
        .arg("--out")
        .arg(&out_path)
        .output()
        .expect("run");
    let err = stderr(&out);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{err}");
    assert!(err.contains("as compute node"), "{err}");
    let bundle = ReadBundle::open(&out_path);
    assert_eq!(bundle.manifest.hosts.len(), 1);
    assert_eq!(bundle.manifest.hosts[0].server_uuid, dc.cn());
    assert_eq!(
        bundle.manifest.hosts[0].role,
        triton_bundle::manifest::HostRole::ComputeNode
    );
    assert!(
        bundle.entries.keys().all(|p| !p.starts_with("api/")),
        "no API calls on a CN"
    );
    let vm_log = format!("hosts/{}/files/zones/{}/root/tmp/vm.log", dc.cn(), dc.vm());
    assert!(bundle.text(&vm_log).contains("Failed to allocate memory"));
    assert!(bundle
        .entries
        .keys()
        .any(|p| p.starts_with(&format!("hosts/{}/files/var/log/cn-agent/logs/", dc.cn()))));
    assert!(bundle.entries.contains_key(&format!(
        "hosts/{}/commands/vmadm-get-{}.out",
        dc.cn(),
        dc.vm()
    )));
}

#[test]
fn sigterm_still_leaves_a_bundle_marked_incomplete() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] =
            json!([{"command": "svcs", "kind": {"kind": "hang", "seconds": 60}}]);
    });
    let out_dir = dc.out("sig");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let mut child = triton_test_support::headnode_collector(&common::collect_bin(), &dc.dir)
        .args(["--vm", &dc.vm(), "--cn", "none", "--out"])
        .arg(&out_dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the first source is done (the hanging `svcs -xv` is among the next ones), then
    // ask the collector to stop.
    let started = std::time::Instant::now();
    let stderr_pipe = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr_pipe)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(20)) {
        if line.contains("[1/") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let status = child.wait().expect("wait");
    let err = reader.join().expect("stderr reader");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let bundle_path = std::fs::read_dir(&out_dir)
        .expect("out dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle with the default name in the --out directory");
    assert!(bundle_path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .starts_with("triton-bundle-"));
    let bundle = ReadBundle::open(&bundle_path);
    assert!(!bundle.manifest.complete);
    let svcs = bundle.items("svcs.global");
    assert!(
        svcs[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted")),
        "{:?}",
        svcs[0].error
    );
    assert!(
        bundle
            .manifest
            .notes
            .iter()
            .any(|n| n.contains("interrupted")),
        "{:?}",
        bundle.manifest.notes
    );
    assert!(bundle
        .entries
        .contains_key(&format!("api/workflow/jobs/{}.json", dc.job())));
}

#[test]
fn a_dead_api_and_a_missing_zone_are_recorded_and_the_bundle_still_written() {
    let dc = Dc::create();
    dc.edit_state(|state| state["api"]["unavailable"] = json!(["imgapi"]));
    std::fs::remove_dir_all(dc.dir.join("cn").join(dc.cn()).join("zones").join(dc.vm()))
        .expect("remove zone");
    let out_path = dc.out("dead.tar.gz");
    let out = dc.collect(&["--vm", &dc.vm(), "--out", out_path.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    let image = bundle.items("imgapi.image");
    assert!(!image.is_empty());
    assert!(
        image
            .iter()
            .all(|i| i.path.is_none() && i.http_status.is_none()),
        "{image:?}"
    );
    assert!(
        image[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no HTTP answer")),
        "{:?}",
        image[0].error
    );
    // The zone is gone: recorded as not there, which is not a collection failure.
    let zone_root = format!("/zones/{}/root", dc.vm());
    let note = bundle
        .items("vm.log")
        .into_iter()
        .find(|i| matches!(&i.origin, triton_bundle::manifest::Origin::File { path } if *path == zone_root))
        .expect("vm.log note for the missing zone");
    assert!(
        note.error
            .as_deref()
            .is_some_and(|e| e.starts_with("not found")),
        "{:?}",
        note.error
    );
    assert_eq!(note.host.as_deref(), Some(dc.cn().as_str()));
    // The rest of the CN is still there.
    assert!(bundle
        .entries
        .keys()
        .any(|p| p.starts_with(&format!("hosts/{}/files/var/log/cn-agent/", dc.cn()))));
}

#[test]
fn a_job_brings_its_vm_server_image_and_tasks() {
    let dc = Dc::create();
    let out_path = dc.out("job.tar.gz");
    let out = dc.collect(&[
        "--job",
        &dc.job(),
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    assert_eq!(bundle.manifest.scope.vm_uuids, vec![dc.vm()]);
    assert!(bundle
        .entries
        .contains_key(&format!("api/vmapi/vms/{}.json", dc.vm())));
    assert!(bundle
        .entries
        .contains_key(&format!("api/cnapi/servers/{}.json", dc.cn())));
    assert!(bundle
        .entries
        .keys()
        .any(|p| p.starts_with("api/imgapi/images/")));
    let tasks = bundle.items("cnapi.task");
    assert!(
        !tasks.is_empty() && tasks.iter().all(|t| t.http_status == Some(200)),
        "{tasks:?}"
    );
    assert!(bundle.entries.contains_key(&format!(
        "hosts/{}/files/zones/{}/root/tmp/vm.log",
        dc.cn(),
        dc.vm()
    )));
    // The CN was told about the image, so `imgadm get` ran there.
    assert!(bundle
        .entries
        .keys()
        .any(|p| p.starts_with(&format!("hosts/{}/commands/imgadm-get-", dc.cn()))));
}

#[test]
fn the_overall_deadline_stops_collection_and_says_so() {
    let dc = Dc::create();
    dc.edit_state(|state| {
        state["headnode"]["faults"] =
            json!([{"command": "svcs", "kind": {"kind": "hang", "seconds": 60}}]);
    });
    let out_path = dc.out("deadline.tar.gz");
    let started = std::time::Instant::now();
    let out = dc.collect(&[
        "--vm",
        &dc.vm(),
        "--cn",
        "none",
        "--deadline",
        "8",
        "--out",
        out_path.to_str().expect("utf8"),
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bundle = ReadBundle::open(&out_path);
    // Killed when the deadline came, or (on a very slow machine) never started.
    let svcs = bundle.items("svcs.global")[0];
    assert!(
        svcs.timed_out
            || svcs
                .error
                .as_deref()
                .is_some_and(|e| e.contains("deadline")),
        "{svcs:?}"
    );
    let skipped: Vec<_> = bundle
        .manifest
        .items
        .iter()
        .filter(|i| i.error.as_deref().is_some_and(|e| e.contains("deadline")))
        .collect();
    assert!(
        !skipped.is_empty(),
        "sources after the deadline are recorded as not collected"
    );
    assert!(skipped.iter().all(|i| i.path.is_none()));
    assert!(
        bundle.manifest.notes.iter().any(|n| n.contains("deadline")),
        "{:?}",
        bundle.manifest.notes
    );
    // What came before the deadline is kept.
    assert!(bundle
        .entries
        .contains_key(&format!("api/workflow/jobs/{}.json", dc.job())));
}

#[test]
fn the_archive_of_a_destroyed_vm_is_collected_without_zfs_dump() {
    let dc = Dc::create();
    let archive = dc
        .dir
        .join("cn")
        .join(dc.cn())
        .join("zones/archive")
        .join(dc.vm());
    std::fs::create_dir_all(archive.join("svclogs")).expect("mkdir");
    std::fs::create_dir_all(archive.join("vmlogs")).expect("mkdir");
    std::fs::write(
        archive.join("vm.json"),
        format!("{{\"uuid\": \"{}\", \"brand\": \"kvm\"}}\n", dc.vm()),
    )
    .expect("write");
    std::fs::write(archive.join("zfs.dump"), "ZFS-DUMP-MARKER\n").expect("write");
    std::fs::write(
        archive.join("svclogs/system-zoneinit:default.log"),
        "zoneinit ran\n",
    )
    .expect("write");
    std::fs::write(archive.join("vmlogs/vm.log.0"), "ARCHIVED-QEMU-LOG\n").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", archive.join("vmlogs/escape.log")).expect("symlink");

    let out_path = dc.out("archive.tar.gz");
    let out = dc.collect(&["--vm", &dc.vm(), "--out", out_path.to_str().expect("utf8")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the refused symlink is recorded: {}",
        stderr(&out)
    );
    let bundle = ReadBundle::open(&out_path);
    let prefix = format!("hosts/{}/files/zones/archive/{}/", dc.cn(), dc.vm());
    for name in [
        "vm.json",
        "svclogs/system-zoneinit:default.log",
        "vmlogs/vm.log.0",
    ] {
        assert!(
            bundle.entries.contains_key(&format!("{prefix}{name}")),
            "{name} missing"
        );
    }
    assert!(!bundle.entries.contains_key(&format!("{prefix}zfs.dump")));
    assert!(!bundle.contains_anywhere("ZFS-DUMP-MARKER"));
    let escape = bundle
        .items("zones.archive")
        .into_iter()
        .find(|i| matches!(&i.origin, triton_bundle::manifest::Origin::File { path } if path.ends_with("escape.log")))
        .expect("item for the symlink");
    assert!(
        escape
            .error
            .as_deref()
            .is_some_and(|e| e.contains("refused")),
        "{:?}",
        escape.error
    );
}
