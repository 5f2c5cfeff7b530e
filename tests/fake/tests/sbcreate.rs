//! The fake `sdc-sbcreate` against the real script (sdc-headnode `tools/bin/sdc-sbcreate`): file
//! name, top directory, the files each `grab_*` function writes, nested archives, options, and
//! running it on a compute node through `sdc-oneachnode`.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;
use triton_bundle::{Bundle, NestedLimits};

/// Where the real script writes a file: on every host, or only on a headnode (`$headnode`).
#[derive(Clone, Copy, PartialEq)]
enum Host {
    Any,
    Headnode,
}

/// Every path the real script can write into its bundle directory, from its `grab_*` functions
/// (line numbers of `tools/bin/sdc-sbcreate`). `{vm}`, `{zone}`, `{id}` stand for a VM uuid, a
/// zone name and the issue id; `{log}` for a `vm.log*` file name.
const REAL_FILES: &[(&str, Host, &str)] = &[
    ("sysinfo.json", Host::Any, "130 grab_sysinfo"),
    ("prtdiag", Host::Any, "136 grab_hw_config"),
    ("prtconf", Host::Any, "137 grab_hw_config"),
    ("smbios", Host::Any, "138 grab_hw_config"),
    ("psrinfo", Host::Any, "139 grab_hw_config"),
    ("dladm.phys", Host::Any, "145 grab_dlinfo"),
    ("dladm.vnic", Host::Any, "146 grab_dlinfo"),
    ("dladm.linkprop", Host::Any, "147 grab_dlinfo"),
    ("dladm.bridge", Host::Any, "148 grab_dlinfo"),
    ("ifconfig.a", Host::Any, "154 grab_ifconfig"),
    ("ipadm.show-addr", Host::Any, "155 grab_ifconfig"),
    ("netstat.rnc", Host::Any, "161 grab_routes"),
    ("var.audit.tar.gz", Host::Any, "167 grab_auditlog"),
    ("svcs.all", Host::Any, "174 grab_svcs"),
    ("svcs.all.xv", Host::Any, "175 grab_svcs"),
    ("svccfg_archive/", Host::Any, "176 grab_svcs"),
    ("svccfg_archive/global.gz", Host::Any, "178 grab_svcs"),
    ("svccfg_archive/{zone}.gz", Host::Headnode, "183 grab_svcs"),
    ("sdc-healthcheck", Host::Headnode, "187 grab_svcs"),
    ("sdcadm-health.vm", Host::Headnode, "188 grab_svcs"),
    ("sdcadm-health.agent", Host::Headnode, "189 grab_svcs"),
    ("ps.efZ", Host::Any, "196 grab_ps"),
    ("zpool.status", Host::Any, "203 grab_zfsinfo"),
    ("zfs.list", Host::Any, "205 grab_zfsinfo"),
    ("iostat.e.out", Host::Any, "207 grab_zfsinfo"),
    ("cloudapi.cfg", Host::Any, "218 grab_app_config"),
    ("portal.config.js", Host::Any, "222 grab_app_config"),
    ("dhcpd.config.json", Host::Any, "226 grab_app_config"),
    ("disklist", Host::Any, "232 grab_disk_list"),
    ("zpool.history", Host::Any, "238 grab_zpool_history"),
    ("df", Host::Any, "250 grab_df"),
    ("modinfo", Host::Any, "256 grab_modinfo"),
    ("usbkey.filelist", Host::Any, "262 grab_headnode_info"),
    ("usbkey.config.tar", Host::Any, "264 grab_headnode_info"),
    ("zonelist.vc", Host::Any, "271 grab_zoneinfo"),
    ("vmadmlist", Host::Any, "272 grab_zoneinfo"),
    ("zonekstate", Host::Any, "274 grab_zoneinfo"),
    ("zone.configs.tar", Host::Any, "280 grab_zoneconfigs"),
    ("vmadm.lookup.json", Host::Any, "281 grab_zoneconfigs"),
    ("zone.logs.tar.gz", Host::Headnode, "288 grab_zonelogs"),
    ("vminfo/", Host::Any, "297 grab_vminfo"),
    ("vminfo/{vm}.vminfo", Host::Any, "299 grab_vminfo"),
    ("vmlogs/", Host::Any, "306 grab_vmlogs"),
    ("vmlogs/{vm}.{log}", Host::Any, "312 grab_vmlogs"),
    ("vmactions.log", Host::Any, "317 grab_vmlogs"),
    ("vmactions.debug", Host::Any, "320 grab_vmlogs"),
    ("cores.tar.gz", Host::Headnode, "331 grab_cores"),
    ("dumps.tar", Host::Any, "344 grab_dumps"),
    ("mdb_modules.tar.gz", Host::Any, "351 grab_dumps"),
    ("fmdump.out", Host::Any, "360 grab_fmdump"),
    ("fmdump.e.out", Host::Any, "361 grab_fmdump"),
    ("gz-logs.tar.gz", Host::Any, "369 grab_logs"),
    ("phonehome.tar.gz", Host::Any, "376 grab_phonehome"),
    (
        "platforms_cache.md5",
        Host::Headnode,
        "387 grab_platform_md5",
    ),
    (
        "platforms_bootable.md5",
        Host::Headnode,
        "389 grab_platform_md5",
    ),
    ("rabbitmq.list", Host::Headnode, "415 grab_rabbitmq_info"),
    ("binder.status", Host::Headnode, "432 grab_binder_info"),
    ("manatee.show", Host::Headnode, "448 grab_manatee_info"),
    ("manatee.history", Host::Headnode, "449 grab_manatee_info"),
    ("sdcadm.insts", Host::Headnode, "460 grab_triton_insts"),
    ("images.list", Host::Headnode, "470 grab_images"),
    ("vmapi_vms.gz", Host::Headnode, "480 grab_vms"),
    ("servers.gz", Host::Headnode, "490 grab_servers"),
    ("agents.list", Host::Any, "496 grab_agents"),
    ("ticket.{id}", Host::Any, "580 -I"),
];

/// What the simulation has data for, so the fake must write it: on every host, and on the
/// headnode in addition.
const EXPECTED_ANY: &[&str] = &[
    "sysinfo.json",
    "svcs.all",
    "svcs.all.xv",
    "svccfg_archive/",
    "zpool.status",
    "zfs.list",
    "zpool.history",
    "zonelist.vc",
    "vmadmlist",
    "zone.configs.tar",
    "vmadm.lookup.json",
    "vminfo/",
    "vmlogs/",
    "gz-logs.tar.gz",
];
const EXPECTED_HEADNODE: &[&str] = &[
    "usbkey.filelist",
    "usbkey.config.tar",
    "zone.logs.tar.gz",
    "rabbitmq.list",
    "binder.status",
    "images.list",
    "vmapi_vms.gz",
    "servers.gz",
];

const PLANTED_PASSWORD: &str = "ufds_admin_pw=Planted-Secret-9f1c";

/// The standard datacenter with a headnode `sysinfo` that says so (the script asks
/// `Boot Parameters.headnode`), a usbkey config, core-zone logs and a bigger vm.log.
fn datacenter() -> Dc {
    let dc = Dc::with(|state| {
        state.headnode.sysinfo["Boot Parameters"] = json!({"headnode": "true", "console": "ttyb"});
    });
    let hn = dc.dir().join("hn");
    write(&hn.join("etc/zones/index"), "global:installed:/\n");
    write(
        &hn.join("usbkey/config"),
        &format!("datacenter_name=us-east-1\n{PLANTED_PASSWORD}\n"),
    );
    write(
        &hn.join(format!(
            "zones/{VMAPI_ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log"
        )),
        "{\"msg\":\"handling POST /vms\"}\n",
    );
    write(
        &hn.join(format!("zones/{VMAPI_ZONE}/root/var/log/vmapi.log")),
        "{\"msg\":\"rotated\"}\n",
    );
    std::os::unix::fs::symlink(
        "../../../../../usbkey/config",
        hn.join(format!("zones/{VMAPI_ZONE}/root/var/log/evil")),
    )
    .expect("symlink");
    write(
        &hn.join(format!(
            "zones/{CNAPI_ZONE}/root/opt/smartdc/cnapi/log/cnapi.log"
        )),
        "{}\n",
    );
    let cn = dc.dir().join("cn").join(CN1);
    write(
        &cn.join("var/svc/log/system-smartdc-vmadmd:default.log"),
        "vmadmd\n",
    );
    write(&cn.join("var/log/vm.log"), "not a vm.log of a VM\n");
    let long: String = (1..=10_005).map(|n| format!("vm.log line {n}\n")).collect();
    write(&cn.join(format!("zones/{VM}/root/tmp/vm.log.0")), &long);
    dc
}

/// The bundle directory of a service bundle: its top directory, files and directories.
struct ServiceBundle {
    top: String,
    files: BTreeMap<String, Vec<u8>>,
    dirs: Vec<String>,
}

fn unpack(path: &Path) -> ServiceBundle {
    let file = std::fs::File::open(path).expect("open bundle");
    let mut archive = tar::Archive::new(bzip2::read::BzDecoder::new(file));
    let mut tops = Vec::new();
    let mut files = BTreeMap::new();
    let mut dirs = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let (top, rest) = name.split_once('/').unwrap_or((&name, ""));
        if !tops.contains(&top.to_string()) {
            tops.push(top.to_string());
        }
        if entry.header().entry_type().is_dir() {
            if !rest.is_empty() {
                dirs.push(format!("{}/", rest.trim_end_matches('/')));
            }
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("data");
        files.insert(rest.to_string(), data);
    }
    assert_eq!(tops.len(), 1, "one top directory: {tops:?}");
    ServiceBundle {
        top: tops.remove(0),
        files,
        dirs,
    }
}

/// Names and kinds inside a nested tar (`gzip`ped or not).
fn inner_tar(bytes: &[u8], gzip: bool) -> Vec<(String, tar::EntryType)> {
    let reader: Box<dyn Read + '_> = if gzip {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let mut archive = tar::Archive::new(reader);
    archive
        .entries()
        .expect("inner tar")
        .map(|e| {
            let e = e.expect("inner entry");
            let name = e.path().expect("path").to_string_lossy().into_owned();
            (name, e.header().entry_type())
        })
        .collect()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

/// The one `sdc-support.*.tar.bz2` in `dir`, checked to have its `.log` beside it.
fn bundle_in(dir: &Path, hostname: &str) -> PathBuf {
    let name = format!("sdc-support.{hostname}.20240118T120000Z.tar.bz2");
    let path = dir.join(&name);
    assert!(
        path.is_file(),
        "{} missing; dir has {:?}",
        path.display(),
        list(dir)
    );
    let log = dir.join(format!("{name}.log"));
    let log_text = std::fs::read_to_string(&log).expect("the .log beside the bundle");
    assert!(
        log_text.starts_with(
            "/opt/smartdc/bin/sdc-sbcreate:576: echo '==> Gathering System Information'\n"
        ),
        "{log_text}"
    );
    assert!(
        log_text.contains(": grab_sysinfo(): sysinfo\n"),
        "{log_text}"
    );
    assert!(
        log_text.trim_end().ends_with("echo '==> done'"),
        "{log_text}"
    );
    path
}

fn list(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Which line of [`REAL_FILES`] a path of the bundle directory matches.
fn real_source(path: &str) -> Option<(Host, &'static str)> {
    REAL_FILES.iter().find_map(|(pattern, host, source)| {
        let matched = match pattern.split_once('{') {
            None => pattern == &path,
            Some((prefix, _)) => {
                let suffix = pattern.rsplit_once('}').map_or("", |(_, s)| s);
                path.starts_with(prefix) && path.ends_with(suffix) && path.len() > prefix.len()
            }
        };
        matched.then_some((*host, *source))
    })
}

fn check_against_the_real_list(bundle: &ServiceBundle, headnode: bool) {
    for path in bundle.files.keys().chain(bundle.dirs.iter()) {
        match real_source(path) {
            None => panic!("{path} is not a file the real sdc-sbcreate writes"),
            Some((Host::Headnode, source)) if !headnode => {
                panic!("{path} ({source}) is written on a headnode only")
            }
            Some(_) => {}
        }
    }
    let expected = EXPECTED_ANY
        .iter()
        .chain(if headnode { EXPECTED_HEADNODE } else { &[] });
    for name in expected {
        let present = bundle.files.contains_key(*name) || bundle.dirs.iter().any(|d| d == name);
        assert!(present, "{name} missing from the bundle");
    }
}

#[test]
fn headnode_bundle_has_the_real_layout() {
    let dc = datacenter();
    let out = dc.run("sdc-sbcreate", &["-i"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("==> Gathering System Information\n  > sysinfo\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "==> packing data to /var/tmp/sdc-support.headnode.20240118T120000Z.tar.bz2\n\
             ==> cleaning up\n==> done\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  > zone logs\n") && text.contains("  > vms\n"),
        "{text}"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let path = bundle_in(&dc.dir().join("hn/var/tmp"), "headnode");
    let bundle = unpack(&path);
    assert_eq!(bundle.top, HN, "the top directory is the server uuid");
    check_against_the_real_list(&bundle, true);

    let sysinfo: serde_json::Value =
        serde_json::from_slice(&bundle.files["sysinfo.json"]).expect("sysinfo.json");
    assert_eq!(sysinfo["UUID"], HN);
    let images = String::from_utf8_lossy(&bundle.files["images.list"]).into_owned();
    assert!(images.starts_with("HTTP/1.1 200 OK\r\n"), "{images}");
    assert!(images.contains(KVM_IMAGE), "{images}");
    let vms = gunzip(&bundle.files["vmapi_vms.gz"]);
    assert!(
        vms.starts_with("HTTP/1.1 200 OK\r\n") && vms.contains(VM),
        "{vms}"
    );
    let servers = gunzip(&bundle.files["servers.gz"]);
    assert!(servers.starts_with("HTTP/1.1 200 OK\r\n") && servers.contains(CN1));
    assert_eq!(
        bundle.files["rabbitmq.list"],
        b"No rabbitmq zone or zone not running\n"
    );

    // The real tool does not redact: the usbkey config travels as it is.
    let usbkey = &bundle.files["usbkey.config.tar"];
    assert_eq!(
        inner_tar(usbkey, false),
        [("usbkey/config".to_string(), tar::EntryType::Regular)]
    );
    assert!(String::from_utf8_lossy(usbkey).contains(PLANTED_PASSWORD));
    assert!(String::from_utf8_lossy(&bundle.files["usbkey.filelist"]).contains(" /usbkey/config\n"));

    let zone_logs = inner_tar(&bundle.files["zone.logs.tar.gz"], true);
    let names: Vec<&str> = zone_logs.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        format!("zones/{VMAPI_ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log"),
        format!("zones/{VMAPI_ZONE}/root/var/log/vmapi.log"),
        format!("zones/{CNAPI_ZONE}/root/opt/smartdc/cnapi/log/cnapi.log"),
    ] {
        assert!(
            names.contains(&wanted.as_str()),
            "{wanted} not in {names:?}"
        );
    }
    assert!(names.iter().all(|n| n.starts_with("zones/")), "{names:?}");
    let evil = format!("zones/{VMAPI_ZONE}/root/var/log/evil");
    assert!(
        zone_logs.contains(&(evil, tar::EntryType::Symlink)),
        "symbolic links are stored as links, as tar does"
    );
    let configs = inner_tar(&bundle.files["zone.configs.tar"], false);
    let names: Vec<&str> = configs
        .iter()
        .map(|(n, _)| n.trim_end_matches('/'))
        .collect();
    assert_eq!(names, ["etc/zones", "etc/zones/index"]);
}

#[test]
fn compute_node_bundle_through_sdc_oneachnode() {
    let dc = datacenter();
    let out = dc.sh(&format!(
        "sdc-oneachnode -n {CN1} 'sdc-sbcreate -i -I 123456 -d /var/tmp/sb'"
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("==> packing data to /var/tmp/sb/sdc-support.cn1.20240118T120000Z.tar.bz2"),
        "{text}"
    );
    assert!(
        !text.contains("  > zone logs"),
        "zone logs are a headnode thing: {text}"
    );

    let path = bundle_in(&dc.cn_path("/var/tmp/sb"), "cn1");
    let bundle = unpack(&path);
    assert_eq!(bundle.top, CN1);
    check_against_the_real_list(&bundle, false);
    assert_eq!(bundle.files["ticket.123456"], b"123456\n");
    let vmadm_list = String::from_utf8_lossy(&bundle.files["vmadmlist"]).into_owned();
    assert!(
        vmadm_list.starts_with("UUID ") && vmadm_list.contains(VM),
        "{vmadm_list}"
    );

    let vm_log = &bundle.files[&format!("vmlogs/{VM}.vm.log")];
    assert!(String::from_utf8_lossy(vm_log).contains("Failed to allocate memory"));
    let rotated =
        String::from_utf8_lossy(&bundle.files[&format!("vmlogs/{VM}.vm.log.0")]).into_owned();
    let lines: Vec<&str> = rotated.lines().collect();
    assert_eq!(lines.len(), 10_000, "tail -n 10000");
    assert_eq!(lines[0], "vm.log line 6");
    assert_eq!(lines[9_999], "vm.log line 10005");

    let gz_logs = inner_tar(&bundle.files["gz-logs.tar.gz"], true);
    let names: Vec<&str> = gz_logs.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"var/svc/log/system-smartdc-vmadmd:default.log"),
        "{names:?}"
    );
    assert!(
        names.contains(&"var/log/vm.log"),
        "var/log/*.log: {names:?}"
    );
}

#[test]
fn the_bundle_reads_with_nested_archives_opened() {
    let dc = datacenter();
    // A relative -d is taken from the current directory.
    let out = std::process::Command::new(exe())
        .args(["sdc-sbcreate", "-i", "-d", "out"])
        .env("TRITON_SIM_DIR", dc.dir())
        .env_remove("TRITON_SIM_HOST")
        .current_dir(dc.dir())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = bundle_in(&dc.dir().join("out"), "headnode");

    let mut bundle = Bundle::open(&path).expect("open");
    bundle.set_nested(Some(NestedLimits::default()));
    let mut paths = Vec::new();
    let mut config = String::new();
    let summary = bundle
        .for_each_entry(&mut |entry| {
            if entry.path().ends_with("usbkey.config.tar//usbkey/config") {
                config = entry.read_to_string_lossy().expect("config");
            }
            paths.push(entry.path().to_string());
            Ok(())
        })
        .expect("read");
    assert!(config.contains(PLANTED_PASSWORD));
    let log = format!(
        "{HN}/zone.logs.tar.gz//zones/{VMAPI_ZONE}/root/var/svc/log/smartdc-site-vmapi:default.log"
    );
    assert!(paths.contains(&log), "{paths:?}");
    assert!(
        paths.contains(&format!("{HN}/vmapi_vms.gz//vmapi_vms")),
        "{paths:?}"
    );
    let skipped: Vec<&str> = summary.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        skipped,
        [format!(
            "{HN}/zone.logs.tar.gz//zones/{VMAPI_ZONE}/root/var/log/evil"
        )]
    );
}

#[test]
fn options_of_the_real_script() {
    let dc = datacenter();
    let dir = dc.dir().join("chosen");

    let out = dc.run(
        "sdc-sbcreate",
        &[
            "-i",
            "-c",
            "sysinfo,zpool_history",
            "-d",
            dir.to_str().unwrap(),
            "-o",
            "named.tar.bz2",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "==> Gathering System Information\n  > sysinfo\n  > zpool history\n\
             ==> packing data to {}/named.tar.bz2\n==> cleaning up\n==> done\n",
            dir.display()
        )
    );
    let bundle = unpack(&dir.join("named.tar.bz2"));
    assert_eq!(
        bundle.files.keys().collect::<Vec<_>>(),
        ["sysinfo.json", "zpool.history"]
    );
    assert!(dir.join("named.tar.bz2.log").is_file());

    let out = dc.run("sdc-sbcreate", &["-i", "-c", "bogus"], None);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("sdc-sbcreate: unrecognized content \"bogus\"\nUsage: sdc-sbcreate"),
        "{text}"
    );
    assert!(text.contains(" agents app_config auditlog"), "{text}");
    assert!(text.lines().all(|l| l.len() < 80), "{text}");

    let out = dc.run("sdc-sbcreate", &["-i", "-c", "default,sysinfo"], None);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (
            Some(1),
            "sdc-sbcreate: cannot specify default and contents included by default\n".to_string()
        )
    );

    let out = dc.run("sdc-sbcreate", &["-x"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("illegal option -- x"),
        "{}",
        stderr(&out)
    );

    let out = dc.run(
        "sdc-sbcreate",
        &["-i", "-u", "-c", "sysinfo", "-d", dir.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).ends_with("==> uploading to Triton Support\nsdc-sbcreate: upload failed\n")
    );
    assert!(stderr(&out).contains("sdc-sbupload: No such file or directory"));
    assert!(dir
        .join("sdc-support.headnode.20240118T120000Z.tar.bz2")
        .is_file());
}

#[test]
fn without_immediate_it_counts_down_first() {
    let dc = datacenter();
    let started = std::time::Instant::now();
    let out = dc.run("sdc-sbcreate", &["-c", "sysinfo"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(started.elapsed() >= std::time::Duration::from_secs(4));
    let text = stdout(&out);
    assert!(
        text.starts_with("\nThis tool will create a Triton support bundle in /var/tmp/sdcsb."),
        "{text}"
    );
    assert!(
        text.contains("Starting in 1 seconds...\r\n\n==> Gathering"),
        "{text}"
    );
}
