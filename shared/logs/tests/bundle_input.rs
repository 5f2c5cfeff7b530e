//! Bundles as input of the `logs` command: log entries picked by host and source, merged by
//! time, listed with `--list`; archives are spooled, unpacked bundles read in place.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;
use triton_bundle::{layout, BundleWriter, Manifest};

const HN: &str = "44454c4c-5700-1047-8051-b3c04f585131";
const CN: &str = "44454c4c-f667-1051-801a-c8b688a83e87";
const VMAPI_ZONE: &str = "a78d5910-4e24-46fd-b252-69cf23a7de26";
const TOP: &str = "triton-bundle-headnode-20240501T110000Z";

fn record(name: &str, hostname: &str, minute: u32, msg: &str) -> String {
    format!(
        r#"{{"name":"{name}","hostname":"{hostname}","pid":7,"level":30,"msg":"{msg}","time":"2024-05-01T10:{minute:02}:00.000Z","v":0}}"#
    )
}

fn vmapi_smf_path() -> String {
    format!("/zones/{VMAPI_ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log")
}

fn vmapi_rotated_path() -> String {
    format!(
        "/zones/{VMAPI_ZONE}/root/var/log/sdc/upload/vmapi_{VMAPI_ZONE}_2024-05-01T09:00:00.log.gz"
    )
}

const CN_AGENT_PATH: &str = "/var/svc/log/smartdc-agent-cn-agent:default.log";

/// (host, absolute path, source, content) of every log in the test bundle. Times interleave
/// across hosts and files; the message says where each record must come in the merged view.
fn logs() -> Vec<(&'static str, String, &'static str, Vec<u8>)> {
    let smf = [
        record("vmapi", "headnode", 1, "m2 vmapi"),
        "    at a stack trace line of m2".to_string(),
        record("vmapi", "headnode", 5, "m5 vmapi"),
    ]
    .join("\n")
        + "\n";
    let rotated = record("vmapi", "headnode", 0, "m0 vmapi rotated") + "\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, rotated.as_bytes()).unwrap();
    let cn_agent = [
        record("cn-agent", "cn01", 0, "m1 cn-agent").replace(":00:00.000Z", ":00:30.000Z"),
        record("cn-agent", "cn01", 3, "m3 cn-agent"),
        record("cn-agent", "cn01", 4, "m4 cn-agent"),
    ]
    .join("\n")
        + "\n";
    vec![
        (HN, vmapi_smf_path(), "vmapi.log", smf.into_bytes()),
        (HN, vmapi_rotated_path(), "vmapi.log", gz.finish().unwrap()),
        (
            CN,
            CN_AGENT_PATH.to_string(),
            "cn-agent.log",
            cn_agent.into_bytes(),
        ),
    ]
}

fn manifest(with_items: bool) -> Manifest {
    let mut items = Vec::new();
    if with_items {
        for (host, path, source, bytes) in logs() {
            items.push(json!({
                "source": source, "host": host, "path": layout::host_file(host, &path),
                "origin": {"kind": "file", "path": path}, "duration_ms": 1,
                "bytes": bytes.len(), "original_bytes": bytes.len(), "sha256": null
            }));
        }
        items.push(json!({
            "source": "zpool.history", "host": HN,
            "path": layout::host_command(HN, "zpool-history"),
            "origin": {"kind": "command", "argv": ["zpool", "history"]}, "duration_ms": 1,
            "bytes": 3, "original_bytes": 3, "sha256": null
        }));
    }
    let host = |role: &str, name: &str, uuid: &str| json!({"role": role, "hostname": name, "server_uuid": uuid, "platform_image": null});
    serde_json::from_value(json!({
        "format": "triton-support-bundle", "format_version": "1.0",
        "collector": {"name": "triton-collect", "version": "0", "argv": [], "redacted": true},
        "started_at": "2024-05-01T11:00:00Z", "finished_at": "2024-05-01T11:00:05Z",
        "complete": true, "scope": {"vm_uuids": [], "job_uuids": [], "window": null},
        "hosts": [host("HN", "headnode", HN), host("CN", "cn01", CN)],
        "items": items
    }))
    .expect("test manifest")
}

/// Writes the bundle archive: host files in host order (HN, then CN), as the collector does.
fn write_bundle(dir: &Path) -> std::path::PathBuf {
    let path = dir.join(format!("{TOP}.tar.gz"));
    let mut writer = BundleWriter::create(&path, TOP).unwrap();
    for (host, abs, _, bytes) in logs() {
        writer
            .add_bytes(&layout::host_file(host, &abs), &bytes)
            .unwrap();
    }
    writer
        .add_bytes(&layout::host_command(HN, "zpool-history"), b"ok\n")
        .unwrap();
    writer
        .add_bytes(&layout::api("workflow", "/jobs/j1.log"), b"{}")
        .unwrap();
    writer.finish(&manifest(true)).unwrap();
    path
}

/// The same bundle unpacked, with a manifest that lists no items.
fn write_unpacked(dir: &Path) -> std::path::PathBuf {
    let root = dir.join(TOP);
    for (host, abs, _, bytes) in logs() {
        let file = root.join(layout::host_file(host, &abs));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    std::fs::write(
        root.join("bundle-format.json"),
        r#"{"format":"triton-support-bundle","format_version":"1.0"}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("manifest.json"),
        serde_json::to_vec(&manifest(false)).unwrap(),
    )
    .unwrap();
    root
}

fn logs_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triton-logs"))
        .arg("--no-color")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .expect("run triton-logs")
}

/// The `mN` tags of the output, in order, and whether the stack trace line followed m2.
fn tags(output: &Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            if line.contains("stack trace line of m2") {
                return Some("trace".to_string());
            }
            let at = line.find(": m")?;
            Some(line[at + 2..].split(' ').next()?.to_string())
        })
        .collect()
}

#[test]
fn records_of_all_hosts_merge_by_time_with_continuations_kept() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path());
    let out = logs_cmd(&[bundle.to_str().unwrap()]);
    assert_eq!(
        tags(&out),
        ["m0", "m1", "m2", "trace", "m3", "m4", "m5"],
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let unpacked = write_unpacked(dir.path());
    // Given as the directory above the top directory, as `tar xzf` leaves it.
    let out = logs_cmd(&[unpacked.parent().unwrap().to_str().unwrap()]);
    assert_eq!(tags(&out), ["m0", "m1", "m2", "trace", "m3", "m4", "m5"]);
}

#[test]
fn host_picks_by_server_uuid_or_hostname() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path());
    let bundle = bundle.to_str().unwrap();
    assert_eq!(
        tags(&logs_cmd(&["--host", "cn01", bundle])),
        ["m1", "m3", "m4"]
    );
    assert_eq!(
        tags(&logs_cmd(&["--host", HN, bundle])),
        ["m0", "m2", "trace", "m5"]
    );
    let none = logs_cmd(&["--host", "nosuchhost", bundle]);
    assert!(tags(&none).is_empty());
}

#[test]
fn source_picks_manifest_sources_or_path_substrings() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path());
    let bundle = bundle.to_str().unwrap();
    assert_eq!(
        tags(&logs_cmd(&["--source", "vmapi", bundle])),
        ["m0", "m2", "trace", "m5"]
    );
    assert_eq!(
        tags(&logs_cmd(&[
            "--source",
            "cn-agent.log",
            "-o",
            "short",
            bundle
        ])),
        ["m1", "m3", "m4"]
    );
    // A path substring is no source name when the manifest lists the log.
    assert!(tags(&logs_cmd(&["--source", "smartdc-site", bundle])).is_empty());
    // Without manifest items, the source is matched against the path.
    let unpacked = write_unpacked(dir.path());
    let unpacked = unpacked.to_str().unwrap();
    assert_eq!(
        tags(&logs_cmd(&["--source", "smartdc-site-vmapi", unpacked])),
        ["m2", "trace", "m5"]
    );
    assert_eq!(
        tags(&logs_cmd(&[
            "--source", "vmapi", "--host", "headnode", unpacked
        ])),
        ["m0", "m2", "trace", "m5"]
    );
}

#[test]
fn list_shows_host_source_size_and_path_of_each_log() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path());
    let out = logs_cmd(&["--list", bundle.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["HOST", "HOSTNAME", "SOURCE", "SIZE", "PATH"]);
    assert_eq!(rows.len(), 4, "{text}");
    for ((host, abs, source, bytes), row) in logs().iter().zip(&rows[1..]) {
        let hostname = if *host == HN { "headnode" } else { "cn01" };
        let entry = format!("{}:{}", bundle.display(), layout::host_file(host, abs));
        let size = bytes.len().to_string();
        assert_eq!(
            row,
            &[*host, hostname, *source, size.as_str(), entry.as_str()]
        );
    }
    let cn_only = logs_cmd(&["--list", "--host", CN, bundle.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&cn_only.stdout).lines().count(), 2);
}

#[test]
fn archive_spool_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path());
    let out = logs_cmd(&["--spool-cap", "100", bundle.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("spool cap"), "{stderr}");
}
