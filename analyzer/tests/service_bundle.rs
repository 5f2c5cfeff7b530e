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
use triton_test_support::{assert_success, create_datacenter, path_with_fakes, run, workspace_bin};

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
    assert_eq!(got["failed_task"], want["failed_task"]);
}

#[test]
fn image_import_scenarios_need_the_job_or_the_provisioner_log() {
    // provision-7.0.28: the import error is only in the job and in the CN's
    // /var/log/provisioner/provisioner.log; sdc-sbcreate keeps var/log/*.log of the global zone,
    // not that directory, and no HN log names the error. The job is found in the workflow
    // runner's log, so the report names it and how to collect it, and says `unknown`.
    for name in [
        "image-import-race",
        "image-import-partial-leftover",
        "image-import-transient",
    ] {
        let (_tmp, expected, hn, cn) = scenario(name);
        let report = analyze(&[&hn, &cn]);
        let want = &expected["provisions"][0];
        let got = check_without_job(&report, want);
        assert_eq!(got["diagnosis"]["key"], "unknown", "{name}: {got:#}");
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
    let output = run(Command::new(workspace_bin("triton-collect"))
        .env("PATH", path_with_fakes(&dc))
        .env("TRITON_SIM_DIR", &dc)
        .env_remove("TRITON_SIM_HOST")
        .arg("--root")
        .arg(dc.join("hn"))
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
