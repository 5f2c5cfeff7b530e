//! vmadm, imgadm, zfs, zpool, svcs, sysinfo, zoneadm, zonename through the real binary.

mod common;

use common::*;
use serde_json::Value;

/// Splits a space-aligned table into header cells and rows, checking that every row starts its
/// first cell at column 0 and has as many cells as the header (the real tools pad, never wrap).
fn columns(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = lines
        .map(|line| {
            assert!(!line.starts_with(' ') && !line.ends_with(' '), "{line:?}");
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
    }
    (header, rows)
}

#[test]
fn vmadm_get_and_missing_vm() {
    let dc = Dc::new();
    let out = dc.run("vmadm", &["get", VM], Some(CN1));
    assert_eq!(out.status.code(), Some(0));
    let vm: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (vm["brand"].as_str(), vm["ram"].as_u64()),
        (Some("kvm"), Some(4096))
    );
    assert!(stdout(&out).starts_with("{\n  \"uuid\""));

    let missing = "00000000-1111-4222-8333-444444444444";
    let out = dc.run("vmadm", &["get", missing], Some(CN1));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).trim_end().ends_with("No such zone configured"));
    // The VM lives on cn1, not on the headnode.
    assert_eq!(dc.run("vmadm", &["get", VM], None).status.code(), Some(1));
}

#[test]
fn vmadm_list_columns_and_options() {
    let dc = Dc::new();
    let out = dc.run("vmadm", &["list"], None);
    let text = stdout(&out);
    let (header, rows) = columns(&text);
    assert_eq!(header, ["UUID", "TYPE", "RAM", "STATE", "ALIAS"]);
    // Sorted by ram, then uuid.
    let aliases: Vec<&str> = rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(aliases, ["vmapi0", "workflow0", "cnapi0"]);
    assert!(text.lines().nth(1).unwrap().starts_with(&format!(
        "{VMAPI_ZONE}  OS    512      running           vmapi0"
    )));

    let out = dc.run("vmadm", &["list", "-H", "-o", "alias,state"], None);
    assert_eq!(stdout(&out).lines().next(), Some("vmapi0      running"));
    let out = dc.run(
        "vmadm",
        &[
            "list",
            "-p",
            "-o",
            "uuid,alias,tags.smartdc_role",
            "alias=cnapi0",
        ],
        None,
    );
    assert_eq!(stdout(&out), format!("{CNAPI_ZONE}:cnapi0:cnapi\n"));
}

#[test]
fn vmadm_lookup_like_sdc_login() {
    let dc = Dc::new();
    let role_filter = [
        "-1",
        "state=running",
        &format!("owner_uuid={ADMIN}"),
        "tags.smartdc_role=cnapi",
    ];
    let out = dc.run("vmadm", &[&["lookup"][..], &role_filter].concat(), None);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), format!("{CNAPI_ZONE}\n"))
    );

    let out = dc.run("vmadm", &["lookup", "-1", "state=running"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Requested unique lookup but found 3 results.\n"
    );

    let out = dc.run(
        "vmadm",
        &[
            "lookup",
            "-j",
            "-o",
            "uuid,alias",
            "tags.smartdc_role=~^work",
        ],
        None,
    );
    let found: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        found,
        serde_json::json!([{"uuid": WORKFLOW_ZONE, "alias": "workflow0"}])
    );

    let out = dc.run("vmadm", &["lookup", "-o", "uuid", "brand=kvm"], Some(CN1));
    assert_eq!(out.status.code(), Some(1), "-o needs -j");
    let out = dc.run("vmadm", &["lookup", "-j", "brand=kvm"], Some(CN1));
    let found: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(found[0]["uuid"], VM);
    assert_eq!(found[0]["type"], "KVM");
}

#[test]
fn imgadm_get_list_and_missing_image() {
    let dc = Dc::new();
    let out = dc.run("imgadm", &["get", KVM_IMAGE], Some(CN1));
    let info: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (info["manifest"]["uuid"].as_str(), info["zpool"].as_str()),
        (Some(KVM_IMAGE), Some("zones"))
    );
    assert!(info["source"].is_string());

    let missing = "00000000-1111-4222-8333-444444444444";
    let out = dc.run("imgadm", &["get", missing], Some(CN1));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), format!("imgadm: error (ImageNotInstalled): image \"{missing}\" was not found on zpool \"zones\"\n"));

    let out = dc.run("imgadm", &["list"], Some(CN1));
    let (header, rows) = columns(&stdout(&out));
    assert_eq!(header, ["UUID", "NAME", "VERSION", "OS", "TYPE", "PUB"]);
    assert_eq!(
        rows[0],
        [
            KVM_IMAGE,
            "ubuntu-certified-14.04",
            "20140227",
            "linux",
            "zvol",
            "2014-03-04"
        ],
        "oldest first"
    );
    assert_eq!(rows.len(), 2);
    let out = dc.run("imgadm", &["list", "-H"], Some(CN1));
    assert!(stdout(&out).starts_with(KVM_IMAGE));
    let out = dc.run("imgadm", &["list", "-j"], Some(CN1));
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn zfs_list_alignment_types_and_partial_dataset() {
    let dc = Dc::new();
    let out = dc.run("zfs", &["list", "-t", "all"], Some(CN1));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("NAME ") && header.ends_with("USED  AVAIL  REFER  MOUNTPOINT"),
        "{header}"
    );
    // USED is right-aligned: every row's USED cell ends where the header's USED ends.
    let used_end = header.find("USED").unwrap() + 4;
    for line in text.lines().skip(1) {
        let before: &str = &line[..used_end];
        assert!(!before.ends_with(' '), "USED right-aligned in {line:?}");
    }
    assert!(text.contains(&format!("zones/{IMAGE}-partial ")));
    assert!(text.contains(&format!("zones/{KVM_IMAGE}@final ")));

    let out = dc.run("zfs", &["list"], Some(CN1));
    assert!(
        !stdout(&out).contains('@'),
        "snapshots are hidden without -t"
    );
    let out = dc.run(
        "zfs",
        &[
            "list",
            "-H",
            "-p",
            "-o",
            "name,used",
            &format!("zones/{KVM_IMAGE}"),
        ],
        Some(CN1),
    );
    assert_eq!(stdout(&out), format!("zones/{KVM_IMAGE}\t1556925644\n"));
    let out = dc.run("zfs", &["list", "zones/nosuch"], Some(CN1));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "cannot open 'zones/nosuch': dataset does not exist\n"
    );
}

#[test]
fn zpool_history_status_list() {
    let dc = Dc::new();
    let out = dc.run("zpool", &["history"], Some(CN1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], "History for 'zones':");
    assert!(lines[1].starts_with("2014-03-25.23:55:39 zpool create"));
    assert!(text.contains(&format!("zfs receive zones/{IMAGE}-partial\n")));
    assert!(text.ends_with("\n\n"), "a blank line ends each pool");

    let out = dc.run("zpool", &["history", "tank"], Some(CN1));
    assert_eq!(
        (out.status.code(), stderr(&out)),
        (Some(1), "cannot open 'tank': no such pool\n".to_string())
    );
    let out = dc.run("zpool", &["status"], Some(CN1));
    assert!(stdout(&out).starts_with("  pool: zones\n state: ONLINE"));
    let out = dc.run("zpool", &["list", "-H", "-o", "name,health"], Some(CN1));
    assert_eq!(stdout(&out), "zones\tONLINE\n");
}

#[test]
fn svcs_listing_explain_and_log() {
    let dc = Dc::new();
    let out = dc.run("svcs", &[], Some(CN1));
    assert_eq!(
        stdout(&out),
        "STATE          STIME    FMRI\n\
         online         Jan_16   svc:/smartdc/agent/cn-agent:default\n\
         online         11:30:00 svc:/system/smartdc/vmadmd:default\n"
    );
    let out = dc.run("svcs", &["-a"], Some(CN1));
    assert!(stdout(&out).contains("disabled       Jan_16   svc:/network/ntp:default"));

    let out = dc.run("svcs", &["-xv", "-z", VM], Some(CN1));
    let text = stdout(&out);
    assert!(text.starts_with("svc:/system/zoneinit:default (zone initialization)\n State: maintenance since Thu Jan 18 10:05:31 2024\n"), "{text}");
    assert!(text.contains("Reason: Start method failed repeatedly"));
    assert!(text.contains("   See: http://illumos.org/msg/SMF-8000-KS\n"));
    assert!(text.contains(&format!(
        "   See: /zones/{VM}/root/var/svc/log/system-zoneinit:default.log\n"
    )));

    let out = dc.run("svcs", &["-L", "cn-agent"], Some(CN1));
    assert_eq!(
        stdout(&out),
        "/var/svc/log/smartdc-agent-cn-agent:default.log\n"
    );
    let out = dc.run("svcs", &["-L", "nosuch"], Some(CN1));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn sysinfo_zoneadm_zonename() {
    let dc = Dc::new();
    let info: Value = serde_json::from_str(&stdout(&dc.run("sysinfo", &[], Some(CN1)))).unwrap();
    assert_eq!(info["UUID"], CN1);
    let text = stdout(&dc.run("sysinfo", &["-p"], Some(CN1)));
    assert!(
        text.contains("Live_Image='20240118T000000Z'\n") && text.contains("CPU_Physical_Cores=2\n"),
        "{text}"
    );

    let text = stdout(&dc.run("zoneadm", &["list", "-cp"], Some(CN1)));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0:global:running:/::liveimg:shared");
    let fields: Vec<&str> = lines[1].split(':').collect();
    assert_eq!(
        fields,
        [
            "-",
            VM,
            "installed",
            &format!("/zones/{VM}"),
            VM,
            "kvm",
            "excl"
        ]
    );
    assert_eq!(stdout(&dc.run("zoneadm", &["list"], Some(CN1))), "global\n");
    assert_eq!(stdout(&dc.run("zonename", &[], Some(CN1))), "global\n");
}
