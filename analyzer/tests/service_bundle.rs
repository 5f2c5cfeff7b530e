//! `sdc-sbcreate` service bundles as input: simulated datacenter → the fake `sdc-sbcreate` on the
//! headnode and (through `sdc-oneachnode`) on the provision's compute node → `triton-analyze`
//! over the `.tar.bz2` files. Service bundles carry no workflow job: what the analyzer knows of
//! the job comes from the logs, so no diagnosis is more than `likely`, and the report says which
//! `triton-collect` command would get the job.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::*;
use triton_test_support::{
    assert_success, create_datacenter, headnode_collector, path_with_fakes, run, workspace_bin,
};

fn sh(dc: &Path, script: &str) {
    let output = run(Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", path_with_fakes(dc))
        .env("TRITON_SIM_DIR", dc)
        .env_remove("TRITON_SIM_HOST"));
    assert_success(script, &output);
}

/// The one `sdc-support.*.tar.bz2` in `dir`.
fn service_bundle_in(dir: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tar.bz2"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one service bundle in {}", dir.display());
    found[0].clone()
}

/// Service bundles of the headnode (`sdc-sbcreate` run there) and of the compute node
/// (`sdc-oneachnode -n <cn> 'sdc-sbcreate ...'`, as support asks customers to).
fn service_bundles(dc: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let hn_out = dc.join("sb-hn");
    sh(dc, &format!("sdc-sbcreate -i -d '{}'", hn_out.display()));
    sh(
        dc,
        &format!("sdc-oneachnode -n {cn} 'sdc-sbcreate -i -d /var/tmp/sb'"),
    );
    (
        service_bundle_in(&hn_out),
        service_bundle_in(&dc.join("cn").join(cn).join("var/tmp/sb")),
    )
}

fn analyze(inputs: &[&Path]) -> Value {
    let output = run_paths(&["--format", "json"], inputs);
    assert!(output.status.success(), "{}", stderr(&output));
    json(&output)
}

/// The report's provision of the expected one, by VM (a service bundle may not know the job).
fn provision_of<'a>(report: &'a Value, want: &Value) -> &'a Value {
    let found: Vec<&Value> = report["provisions"]
        .as_array()
        .expect("provisions")
        .iter()
        .filter(|p| p["vm_uuid"] == want["vm_uuid"])
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one provision of vm {}: {:#?}",
        want["vm_uuid"],
        report["provisions"]
    );
    found[0]
}

/// What every provision read from service bundles alone must show: the job found in the logs,
/// at most `likely`, and the job named as missing with the command that would collect it.
fn check_without_job(report: &Value, want: &Value) -> Value {
    let got = provision_of(report, want).clone();
    assert_ne!(got["diagnosis"]["confidence"], "confirmed", "{got:#}");
    assert_eq!(
        got["job_uuid"], want["job_uuid"],
        "job found in the workflow runner's log"
    );
    let job = want["job_uuid"].as_str().expect("job uuid");
    let missing: Vec<&Value> = report["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .filter(|m| m["provision"] == got["id"])
        .collect();
    assert!(
        missing.iter().any(|m| m["what"]
            .as_str()
            .is_some_and(|w| w.contains(job) && w.contains("not in the input"))
            && m["collect"] == format!("triton-collect --job {job}")),
        "{missing:#?}"
    );
    got
}

fn scenario(name: &str) -> (tempfile::TempDir, Value, PathBuf, PathBuf) {
    scenario_with(name, |_, _| {})
}

/// Like [`scenario`], with a chance to change the datacenter's files before the bundles are made.
fn scenario_with(
    name: &str,
    prepare: impl FnOnce(&Path, &Value),
) -> (tempfile::TempDir, Value, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dc = tmp.path().join("dc");
    let expected = create_datacenter(name, 1, &dc, &[]);
    prepare(&dc, &expected);
    let cn = expected["provisions"][0]["server_uuid"]
        .as_str()
        .expect("the provision has a compute node")
        .to_string();
    let (hn, cn_bundle) = service_bundles(&dc, &cn);
    (tmp, expected, hn, cn_bundle)
}

/// A credential in a URL, planted in the qemu line the report quotes as evidence.
const QUOTED_SECRET: &str = "Pl4ntedVncPassw0rd";

fn plant_secret_in_quoted_vm_log(dc: &Path, expected: &Value) {
    let want = &expected["provisions"][0];
    let (cn, vm) = (want["server_uuid"].as_str(), want["vm_uuid"].as_str());
    let vm_log = dc
        .join("cn")
        .join(cn.expect("server"))
        .join(format!("zones/{}/root/tmp/vm.log", vm.expect("vm")));
    let text = std::fs::read_to_string(&vm_log).expect("vm.log");
    let planted = text.replace(
        "Failed to allocate memory: Resource temporarily unavailable",
        &format!(
            "Failed to allocate memory: Resource temporarily unavailable \
             (vnc http://admin:{QUOTED_SECRET}@10.99.99.7:5900)"
        ),
    );
    assert_ne!(planted, text, "the quoted qemu line is in vm.log");
    std::fs::write(&vm_log, planted).expect("write vm.log");
}

#[test]
fn kvm_out_of_memory_from_service_bundles() {
    let (_tmp, expected, hn, cn) =
        scenario_with("kvm-qemu-out-of-memory", plant_secret_in_quoted_vm_log);
    let report = analyze(&[&hn, &cn]);
    let kinds: Vec<&Value> = report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| &i["kind"])
        .collect();
    assert_eq!(
        kinds, ["sdc-sbcreate service bundle, tar.bz2"; 2],
        "{kinds:?}"
    );
    let want = &expected["provisions"][0];
    let got = check_without_job(&report, want);
    assert_eq!(got["diagnosis"]["key"], "kvm-qemu-out-of-memory");
    assert_eq!(got["diagnosis"]["confidence"], "likely");
    assert_eq!(got["failed_task"], want["failed_task"]);
    assert_eq!(image_findings(&report), Vec::<String>::new());
    assert_eq!(got["server_uuid"], want["server_uuid"]);
    // qemu's memory failure is cited from the CN bundle's vmlogs/<vm>.vm.log, at the VM's path.
    let vm = want["vm_uuid"].as_str().expect("vm");
    let vm_log = format!("/zones/{vm}/root/tmp/vm.log");
    let cited = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["provision"] == got["id"])
        .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
        .find(|e| e["place"]["host_path"] == vm_log.as_str())
        .unwrap_or_else(|| panic!("vm.log cited: {:#}", report["findings"]));
    assert_eq!(cited["place"]["host"], want["server_uuid"]);
    assert!(cited["excerpt"]
        .as_str()
        .is_some_and(|e| e.contains("Failed to allocate memory")));
    assert!(cited["place"]["entry"]
        .as_str()
        .is_some_and(|e| e.ends_with(&format!("/vmlogs/{vm}.vm.log"))));
    secrets_stay_out_of_the_report(&_tmp.path().join("dc"), &report, &[&hn, &cn]);
}

/// sdc-sbcreate copies `/usbkey/config` and the logs unredacted: none of the secrets the
/// simulator planted (`DIR/sim/secrets.json`) may reach any form of the report, and the report
/// must say that the input holds secrets in clear.
fn secrets_stay_out_of_the_report(dc: &Path, json_report: &Value, inputs: &[&Path]) {
    let truth: Value = serde_json::from_slice(
        &std::fs::read(dc.join("sim/secrets.json")).expect("the simulator's secrets.json"),
    )
    .expect("secrets.json parses");
    let secrets: Vec<&str> = truth["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(|s| s["value"].as_str())
        .collect();
    assert!(secrets.len() >= 20, "{} secrets planted", secrets.len());
    let mut secrets = secrets;
    secrets.push(QUOTED_SECRET);
    let markdown = stdout(&run_paths(&[], inputs));
    let html = stdout(&run_paths(&["--format", "html"], inputs));
    let json_text = json_report.to_string();
    for secret in &secrets {
        for (form, text) in [
            ("markdown", &markdown),
            ("html", &html),
            ("json", &json_text),
        ] {
            assert!(
                !text.contains(secret),
                "secret {secret:?} in the {form} report"
            );
        }
    }
    let held: u64 = json_report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["secrets_held"].as_u64())
        .sum();
    assert!(
        held > 0,
        "the headnode's /usbkey/config holds secrets in clear"
    );
    assert!(
        markdown.contains("handle these inputs as confidential"),
        "the report says the input is confidential"
    );
    assert!(
        json_report["redacted"].as_u64().is_some_and(|n| n > 0),
        "{}",
        json_report["redacted"]
    );
    assert!(
        markdown.contains("masked in this report"),
        "the report says it masked quoted secrets"
    );
    assert!(
        markdown.contains("(vnc http://admin:[REDACTED]@10.99.99.7:5900)"),
        "the quoted line keeps its place with the credential masked"
    );
}

#[test]
fn zone_setup_failed_from_service_bundles() {
    // The CN's bundle has no zone logs (zone.logs.tar.gz is made on the headnode only); the
    // zone's broken service shows in the CN's `svcs -Z -xv` (svcs.all.xv).
    let (_tmp, expected, hn, cn) = scenario("zone-setup-failed");
    let report = analyze(&[&hn, &cn]);
    let want = &expected["provisions"][0];
    let got = check_without_job(&report, want);
    assert_eq!(got["diagnosis"]["key"], "zone-setup-failed", "{got:#}");
    assert_eq!(got["diagnosis"]["confidence"], "likely");
    assert_eq!(image_findings(&report), Vec::<String>::new());
    assert_eq!(got["failed_task"], want["failed_task"]);
}

/// The findings the report made for provision `got`.
fn findings_of<'a>(report: &'a Value, got: &Value) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["provision"] == got["id"])
        .collect()
}

/// Whether any provision of the report got an image import finding (primary or not).
fn image_findings(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["key"].as_str())
        .filter(|k| k.starts_with("image-import"))
        .map(str::to_string)
        .collect()
}

/// The text of one member of a service bundle (`gtar -jcf`: bzip2 around a tar).
fn member_text(bundle: &Path, member: &str) -> String {
    use std::io::Read;
    let file = std::fs::File::open(bundle).expect("open service bundle");
    let mut archive = tar::Archive::new(bzip2::read::BzDecoder::new(file));
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        if entry.path().expect("path").to_string_lossy() == member {
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("read member");
            return text;
        }
    }
    panic!("{member} not in {}", bundle.display())
}

/// Evidence cited from the compute node's command output in its service bundle (`zpool.history`,
/// `zfs.list`): each item's excerpt is the very line it cites there.
fn cited_from_cn_bundle<'a>(finding: &'a Value, cn_bundle: &Path, cn: &str) -> Vec<&'a Value> {
    let bundle_name = cn_bundle
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    let cited: Vec<&Value> = finding["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|e| e["place"]["input"] == bundle_name.as_str())
        .collect();
    for e in &cited {
        let entry = e["place"]["entry"].as_str().expect("entry");
        assert!(entry.starts_with(&format!("{cn}/")), "{e:#}");
        assert_eq!(e["place"]["host"], cn, "{e:#}");
        let Some(line) = e["line"].as_u64() else {
            continue;
        };
        let text = member_text(cn_bundle, entry);
        let at = text.lines().nth(line as usize - 1).expect("the cited line");
        let excerpt = e["excerpt"].as_str().expect("excerpt");
        assert_eq!(
            at.split_whitespace().collect::<Vec<_>>(),
            excerpt.split_whitespace().collect::<Vec<_>>(),
            "{entry}:{line} is what is quoted"
        );
    }
    cited
}

/// An image import scenario from service bundles alone: the expected key, `likely`, the image
/// step named, and the compute node's pool cited (the lines the simulator's ground truth names).
fn image_import_from_service_bundles(
    name: &str,
    prepare: Option<fn(&Path, &Value)>,
    key: &str,
) -> (Value, Value) {
    let changed = prepare.is_some();
    let (_tmp, expected, hn, cn_bundle) = scenario_with(name, |dc, e| {
        if let Some(prepare) = prepare {
            prepare(dc, e)
        }
    });
    let report = analyze(&[&hn, &cn_bundle]);
    let want = &expected["provisions"][0];
    let got = check_without_job(&report, want);
    assert_eq!(got["diagnosis"]["key"], key, "{name}: {got:#}");
    assert_eq!(got["diagnosis"]["confidence"], "likely", "{name}");
    let failed_task = want["failed_task"].as_str().expect("failed task");
    assert!(
        got["diagnosis"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(failed_task)),
        "{name}: the summary names the image step: {got:#}"
    );
    let findings = findings_of(&report, &got);
    let finding = findings
        .iter()
        .find(|f| f["key"] == key)
        .expect("the finding");
    let cn = want["server_uuid"].as_str().expect("server");
    let cited = cited_from_cn_bundle(finding, &cn_bundle, cn);
    assert!(
        cited
            .iter()
            .any(|e| e["place"]["command"] == "zpool history"
                || e["place"]["command"] == "zfs list -t all"),
        "{name}: the pool is cited: {finding:#}"
    );
    // Every pool line the ground truth names for this provision is among what is cited (when
    // the test did not change the story).
    let truths = if changed {
        Vec::new()
    } else {
        want["evidence"].as_array().expect("evidence").clone()
    };
    for truth in &truths {
        let Some(command) = truth["command"].as_str() else {
            continue;
        };
        if command != "zpool history" && command != "zfs list -t all" {
            continue;
        }
        let contains = truth["contains"].as_str().expect("contains");
        let dataset = contains
            .split_whitespace()
            .last()
            .expect("a dataset")
            .trim_end_matches("@final");
        assert!(
            cited.iter().any(|e| e["place"]["command"] == command
                && e["excerpt"].as_str().is_some_and(|x| x.contains(dataset))),
            "{name}: `{command}` line with {dataset} cited: {finding:#}"
        );
    }
    // Only one image key for the provision.
    let keys: Vec<&Value> = findings
        .iter()
        .map(|f| &f["key"])
        .filter(|k| k.as_str().is_some_and(|k| k.starts_with("image-import")))
        .collect();
    assert_eq!(keys.len(), 1, "{name}: {keys:?}");
    (report, got)
}

#[test]
fn image_import_race_from_service_bundles() {
    // The origin's -partial dataset was received before the provision failed and renamed into
    // place after: another import of it was running.
    let (report, got) =
        image_import_from_service_bundles("image-import-race", None, "image-import-race");
    let finding = findings_of(&report, &got)[0];
    assert!(
        finding["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e["excerpt"]
                .as_str()
                .is_some_and(|x| x.contains(" zfs rename zones/") && x.contains("-partial "))),
        "{finding:#}"
    );
}

#[test]
fn image_import_partial_leftover_from_service_bundles() {
    image_import_from_service_bundles(
        "image-import-partial-leftover",
        None,
        "image-import-partial-leftover",
    );
}

#[test]
fn image_import_transient_from_service_bundles() {
    image_import_from_service_bundles("image-import-transient", None, "image-import-transient");
}

/// What the 7.0-era provisioner logs in its SMF log when a task fails: the `error` event it
/// publishes to CNAPI, at INFO, with the task's error as `message.error` (sdc-provisioner-agent
/// `lib/task_agent/task_agent.js` `Publishing event to routing key (%s)`, `task.js` `fatal`). The
/// simulator writes it only to the hourly rotation `sdc-sbcreate` leaves out; here it is still in
/// the live log, as within the hour after a failure.
fn plant_provisioner_error_event(dc: &Path, expected: &Value) {
    let want = &expected["provisions"][0];
    let state: Value =
        serde_json::from_slice(&std::fs::read(dc.join("sim/state.json")).expect("state"))
            .expect("state parses");
    let job = state["api"]["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["uuid"] == want["job_uuid"])
        .expect("the job");
    let failed = job["chain_results"]
        .as_array()
        .and_then(|r| r.last())
        .expect("the failed task");
    let error = failed["error"]["message"]
        .as_str()
        .expect("the import error");
    let request = job["params"]["x-request-id"].as_str().expect("request id");
    let finished: jiff::Timestamp = failed["finished_at"]
        .as_str()
        .expect("finished_at")
        .parse()
        .expect("a time");
    let at = (finished - jiff::SignedDuration::from_secs(1)).strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    let cn = want["server_uuid"].as_str().expect("server");
    let record = serde_json::json!({
        "name": "provisioner", "hostname": "cn", "pid": 4242, "level": 30,
        "message": {"error": error, "req_id": request}, "req_id": request,
        "msg": format!("Publishing event to routing key (provisioner.{cn}.event.error.c0ffee.t0ffee)"),
        "time": at.to_string(), "v": 0,
    });
    let log = dc
        .join("cn")
        .join(cn)
        .join("var/svc/log/smartdc-agent-provisioner:default.log");
    let mut text = std::fs::read_to_string(&log).expect("the provisioner's SMF log");
    text.push_str(&format!("{record}\n"));
    std::fs::write(&log, text).expect("write the provisioner's SMF log");
}

#[test]
fn image_import_race_from_the_provisioners_error_event() {
    let (_tmp, expected, hn, cn_bundle) =
        scenario_with("image-import-race", plant_provisioner_error_event);
    let report = analyze(&[&hn, &cn_bundle]);
    let want = &expected["provisions"][0];
    let got = check_without_job(&report, want);
    assert_eq!(got["diagnosis"]["key"], "image-import-race", "{got:#}");
    assert_eq!(got["diagnosis"]["confidence"], "likely");
    assert_eq!(got["failed_task"], want["failed_task"]);
    let finding = findings_of(&report, &got)
        .into_iter()
        .find(|f| f["key"] == "image-import-race")
        .expect("the finding");
    // The error is cited where it is: the live provisioner log inside gz-logs.tar.gz.
    let cited = finding["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| e["place"]["host_path"] == "/var/svc/log/smartdc-agent-provisioner:default.log")
        .unwrap_or_else(|| panic!("the provisioner's event cited: {finding:#}"));
    assert!(cited["place"]["entry"]
        .as_str()
        .is_some_and(|e| e.contains("/gz-logs.tar.gz//var/svc/log/")));
    assert!(cited["excerpt"]
        .as_str()
        .is_some_and(|x| x.contains("-partial' exists")));
}

/// Changes the simulated state of compute node `cn` (`DIR/sim/state.json`).
fn edit_cn(dc: &Path, cn: &str, edit: impl FnOnce(&mut Value)) {
    let path = dc.join("sim/state.json");
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state.json")).expect("state parses");
    let host = state["compute_nodes"]
        .as_array_mut()
        .expect("compute nodes")
        .iter_mut()
        .find(|h| h["server_uuid"] == cn)
        .expect("the compute node");
    edit(host);
    std::fs::write(&path, serde_json::to_vec_pretty(&state).expect("json")).expect("write state");
}

/// The leftover scenario's compute node without the `-partial` dataset; its pool history
/// records are passed through `records`.
fn leftover_without_partial(dc: &Path, expected: &Value, records: impl FnOnce(&mut Vec<Value>)) {
    let cn = expected["provisions"][0]["server_uuid"]
        .as_str()
        .expect("server");
    edit_cn(dc, cn, |host| {
        let datasets = host["datasets"].as_array_mut().expect("datasets");
        let before = datasets.len();
        datasets.retain(|d| !d["name"].as_str().is_some_and(|n| n.ends_with("-partial")));
        assert_eq!(datasets.len() + 1, before, "one -partial dataset planted");
        let history = host["zpool_history"][0]["records"]
            .as_array_mut()
            .expect("pool history");
        records(history);
    });
}

#[test]
fn image_import_failed_from_service_bundles() {
    // No scenario of its own: the leftover story, but imgadm rolled the import back (`zfs
    // destroy -r` of the -partial dataset, as `_installZfsImage` does on an error) and the image
    // never arrived.
    fn rolled_back(dc: &Path, expected: &Value) {
        leftover_without_partial(dc, expected, |records| {
            let received = records
                .iter()
                .rposition(|r| r.as_str().is_some_and(|r| r.contains(" zfs receive ")))
                .expect("the receive");
            let line = records[received].as_str().expect("record").to_string();
            let (stamp, command) = line.split_once(' ').expect("stamp");
            let dataset = command.rsplit(' ').next().expect("dataset");
            let received_at: jiff::Timestamp = format!("{}Z", stamp.replacen('.', "T", 1))
                .parse()
                .expect("a zpool history stamp");
            let later =
                (received_at + jiff::SignedDuration::from_secs(2)).strftime("%Y-%m-%d.%H:%M:%S");
            records.insert(
                received + 1,
                Value::from(format!("{later} zfs destroy -r {dataset}")),
            );
        })
    }
    let (report, got) = image_import_from_service_bundles(
        "image-import-partial-leftover",
        Some(rolled_back),
        "image-import-failed",
    );
    let finding = findings_of(&report, &got)[0];
    assert!(
        finding["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e["place"]["command"] == "zpool history"
                && e["excerpt"].as_str().is_some_and(
                    |x| x.contains(" zfs destroy -r zones/") && x.ends_with("-partial")
                )),
        "{finding:#}"
    );
}

#[test]
fn no_image_diagnosis_without_a_trace_of_an_import() {
    // The leftover story with no trace left on the node: the image is simply absent. That is
    // not enough to say the import failed (a provision fails before its zone for other reasons
    // too), so no image diagnosis.
    let (_tmp, expected, hn, cn) = scenario_with("image-import-partial-leftover", |dc, e| {
        leftover_without_partial(dc, e, |records| {
            records.retain(|r| !r.as_str().is_some_and(|r| r.contains("-partial")))
        })
    });
    let report = analyze(&[&hn, &cn]);
    let got = check_without_job(&report, &expected["provisions"][0]);
    assert_eq!(got["diagnosis"]["key"], "unknown", "{got:#}");
    assert_eq!(image_findings(&report), Vec::<String>::new());
}

#[test]
fn no_image_diagnosis_where_nothing_image_related_happened() {
    // Failures past the image step (the zone was cloned), and a job that timed out while an
    // import was slow, read from service bundles alone.
    for name in [
        "zone-setup-failed-legacy",
        "cnapi-unreachable",
        "vmadm-create-failed",
        "workflow-timeout",
    ] {
        let (_tmp, expected, hn, cn) = scenario(name);
        let report = analyze(&[&hn, &cn]);
        let found = image_findings(&report);
        assert!(found.is_empty(), "{name}: {found:?}");
        let want = &expected["provisions"][0];
        let got = provision_of(&report, want);
        assert!(
            !got["diagnosis"]["key"]
                .as_str()
                .is_some_and(|k| k.starts_with("image-import")),
            "{name}: {got:#}"
        );
    }
}

#[test]
fn a_cn_service_bundle_merges_with_our_headnode_bundle() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dc = tmp.path().join("dc");
    let expected = create_datacenter("kvm-qemu-out-of-memory", 1, &dc, &[]);
    let want = &expected["provisions"][0];
    let vm = want["vm_uuid"].as_str().expect("vm");
    let cn = want["server_uuid"].as_str().expect("cn");
    sh(
        &dc,
        &format!("sdc-oneachnode -n {cn} 'sdc-sbcreate -i -d /var/tmp/sb'"),
    );
    let cn_bundle = service_bundle_in(&dc.join("cn").join(cn).join("var/tmp/sb"));
    let ours = tmp.path().join("hn-bundle");
    let output = run(headnode_collector(&workspace_bin("triton-collect"), &dc)
        .args(["--vm", vm, "--cn", "none", "--out"])
        .arg(&ours));
    assert_success("triton-collect --cn none", &output);

    let report = analyze(&[&ours, &cn_bundle]);
    let got = provision_of(&report, want);
    // Our bundle has the job: the provision is the job's, and the CN's vm.log confirms it.
    assert_eq!(got["job_uuid"], want["job_uuid"]);
    assert_eq!(got["diagnosis"]["key"], "kvm-qemu-out-of-memory");
    assert_eq!(got["diagnosis"]["confidence"], "confirmed");
    let kinds: Vec<&str> = report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"sdc-sbcreate service bundle, tar.bz2"),
        "{kinds:?}"
    );
    assert!(report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .any(|h| h == cn));
}

/// A service bundle by hand: the server directory with `sysinfo.json`, `zfs.list` and the
/// given extra members, as `gtar -jcf` writes it.
fn hand_made_service_bundle(path: &Path, server: &str, members: &[(&str, Vec<u8>)]) {
    let mut tar = tar::Builder::new(Vec::new());
    let sysinfo = format!("{{\"UUID\": \"{server}\", \"Hostname\": \"cn9\"}}\n");
    let zfs = "NAME USED AVAIL REFER MOUNTPOINT\nzones 1G 1T 100K /zones\n".to_string();
    let mut all: Vec<(String, Vec<u8>)> = vec![
        ("sysinfo.json".into(), sysinfo.into_bytes()),
        ("zfs.list".into(), zfs.into_bytes()),
    ];
    all.extend(members.iter().map(|(n, d)| (n.to_string(), d.clone())));
    for (name, data) in all {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{server}/{name}"), &data[..])
            .expect("append");
    }
    let bytes = tar.into_inner().expect("tar");
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&bytes).expect("bzip2");
    std::fs::write(path, bz.finish().expect("bzip2")).expect("write");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn a_decompression_bomb_member_is_stopped_and_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("sdc-support.cn9.20240118T120000Z.tar.bz2");
    // 64 MiB of zeros as one tar member: inflates far beyond the ratio limit.
    let mut inner = tar::Builder::new(Vec::new());
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let mut header = tar::Header::new_ustar();
    header.set_size(zeros.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    inner
        .append_data(&mut header, "var/log/zeros.log", &zeros[..])
        .expect("append");
    let bomb = gzip(&inner.into_inner().expect("tar"));
    let svclog = gzip(&{
        let mut t = tar::Builder::new(Vec::new());
        let text = b"{\"name\":\"cn-agent\",\"hostname\":\"cn9\",\"pid\":1,\"level\":50,\"msg\":\"boom\",\"time\":\"2024-01-18T10:00:00.000Z\",\"v\":0}\n";
        let mut h = tar::Header::new_ustar();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(
            &mut h,
            "var/svc/log/smartdc-agent-cn-agent:default.log",
            &text[..],
        )
        .expect("append");
        t.into_inner().expect("tar")
    });
    hand_made_service_bundle(
        &path,
        SERVER,
        &[
            ("gz-logs.tar.gz", svclog),
            ("zone.logs.tar.gz", bomb),
            ("zpool.history", b"History for 'zones':\n".to_vec()),
        ],
    );
    let report = analyze(&[&path]);
    let input = &report["inputs"][0];
    assert_eq!(input["kind"], "sdc-sbcreate service bundle, tar.bz2");
    let warnings: Vec<&str> = input["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("{SERVER}/zone.logs.tar.gz")) && w.contains("bomb")),
        "{warnings:#?}"
    );
    // Members before and after the bomb were read, at their host paths.
    assert!(report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .any(|h| h == SERVER));
    assert!(
        input["entries"].as_u64().is_some_and(|n| n >= 4),
        "{input:#}"
    );
}

#[test]
fn an_archive_that_only_looks_alike_is_not_a_service_bundle() {
    // Same file names, but the top directory is not a server uuid: read as a plain archive.
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("files.tar.bz2");
    hand_made_service_bundle(
        &path,
        "not-a-uuid",
        &[("zpool.history", b"History for 'zones':\n".to_vec())],
    );
    let report = analyze(&[&path]);
    assert_eq!(report["inputs"][0]["kind"], "tar");
}
