//! The script's `grab_*` functions: what each prints, runs and writes into the bundle directory
//! (sdc-headnode `tools/bin/sdc-sbcreate`; the numbers are its line numbers, for the xtrace log).
//!
//! Content the simulated datacenter has data for is written as the real script writes it; the
//! commands it has no data for (prtdiag, dladm, ifconfig, netstat, ps, iostat, df, modinfo,
//! zonemon, fmdump, disklist, svccfg, sdc-healthcheck, `sdcadm health`, manatee-adm, apm,
//! vmadm info) leave their file out; `sdcadm insts` is answered from the core zones. The announcements (`  > ...`) are printed as the script prints them.

use serde_json::Value;

use super::session::Session;
use super::tarball::{self, glob, last_lines, tar_paths};

/// `grab_vmlogs` keeps this many lines of each vm.log (`tail -n 10000`).
pub const VM_LOG_LINES: usize = 10000;

/// `grab_default`, in its order.
const DEFAULT: &[&str] = &[
    "sysinfo",
    "hw_config",
    "dlinfo",
    "ifconfig",
    "routes",
    "auditlog",
    "svcs",
    "ps",
    "zfsinfo",
    "df",
    "modinfo",
    "headnode_info",
    "zoneinfo",
    "zoneconfigs",
    "zonelogs",
    "vminfo",
    "vmlogs",
    "cores",
    "dumps",
    "fmdump",
    "logs",
    "phonehome",
    "platform_md5",
    "app_config",
    "fmd",
    "disk_list",
    "zpool_history",
    "rabbitmq_info",
    "binder_info",
    "manatee_info",
    "triton_insts",
    "images",
    "vms",
    "servers",
    "agents",
];

/// Every `grab_*` function, as `compgen -A function grab_` lists them (sorted): the names `-c`
/// accepts.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = DEFAULT.to_vec();
    names.push("default");
    names.sort_unstable();
    names
}

/// Runs `grab_<name>` (a name from [`names`]).
pub fn grab(s: &mut Session, name: &str) {
    match name {
        "default" => DEFAULT.iter().for_each(|n| grab(s, n)),
        "sysinfo" => sysinfo(s),
        "hw_config" => s.echo(135, "grab_hw_config", "  > hardware configuration"),
        "dlinfo" => s.echo(144, "grab_dlinfo", "  > datalink info"),
        "ifconfig" => s.echo(153, "grab_ifconfig", "  > network interface info"),
        "routes" => s.echo(160, "grab_routes", "  > routing table"),
        "auditlog" => auditlog(s),
        "svcs" => svcs(s),
        "ps" => s.echo(195, "grab_ps", "  > process information"),
        "zfsinfo" => zfsinfo(s),
        "df" => s.echo(249, "grab_df", "  > disk utilization"),
        "modinfo" => s.echo(255, "grab_modinfo", "  > module information"),
        "headnode_info" => headnode_info(s),
        "zoneinfo" => zoneinfo(s),
        "zoneconfigs" => zoneconfigs(s),
        "zonelogs" => zonelogs(s),
        "vminfo" => s.add_dir("vminfo"),
        "vmlogs" => vmlogs(s),
        "cores" if s.headnode => s.echo(328, "grab_cores", "  > cores"),
        "dumps" => s.echo(340, "grab_dumps", "  > kernel crash dumps"),
        "fmdump" => s.echo(359, "grab_fmdump", "  > fmdump"),
        "logs" => logs(s),
        "phonehome" => phonehome(s),
        "platform_md5" if s.headnode => s.echo(
            386,
            "grab_platform_md5",
            "  > kernel & platform integrity hash",
        ),
        "app_config" => app_config(s),
        // Its archive goes to `/fmd.tgz`, not into the bundle.
        "fmd" => s.echo(243, "grab_fmd", "  > fmd"),
        "disk_list" => s.echo(231, "grab_disk_list", "  > disk list"),
        "zpool_history" => {
            s.echo(237, "grab_zpool_history", "  > zpool history");
            let out = s.command(238, "grab_zpool_history", &["zpool", "history"]);
            s.add_file("zpool.history", out);
        }
        "rabbitmq_info" if s.headnode => rabbitmq_info(s),
        "binder_info" if s.headnode => {
            s.echo(424, "grab_binder_info", "  > binder cluster state");
            // No zookeeper config in the simulation: the loop writes nothing, the file exists.
            s.add_file("binder.status", Vec::new());
        }
        "manatee_info" if s.headnode => {
            s.echo(441, "grab_manatee_info", "  > mantee cluster status")
        }
        "triton_insts" if s.headnode => triton_insts(s),
        "images" if s.headnode => {
            s.echo(469, "grab_images", "  > images");
            let out = s.command(470, "grab_images", &["sdc-imgapi", "/images"]);
            s.add_file("images.list", out);
        }
        "vms" if s.headnode => {
            s.echo(479, "grab_vms", "  > vms");
            let out = s.command(480, "grab_vms", &["sdc-vmapi", "/vms"]);
            s.trace(480, "grab_vms", "gzip");
            add_gzipped(s, "vmapi_vms.gz", &out);
        }
        "servers" if s.headnode => {
            s.echo(489, "grab_servers", "  > servers");
            let out = s.command(490, "grab_servers", &["sdc-cnapi", "/servers"]);
            s.trace(490, "grab_servers", "gzip");
            add_gzipped(s, "servers.gz", &out);
        }
        "agents" => s.echo(495, "grab_agents", "  > agents"),
        // Headnode-only functions return at once elsewhere.
        _ => {}
    }
}

fn sysinfo(s: &mut Session) {
    s.echo(129, "grab_sysinfo", "  > sysinfo");
    let out = s.command(130, "grab_sysinfo", &["sysinfo"]);
    s.add_file("sysinfo.json", out);
}

fn auditlog(s: &mut Session) {
    s.echo(166, "grab_auditlog", "  > auditlog info");
    let target = format!("{}/var.audit.tar.gz", s.temp_dir);
    s.trace(
        167,
        "grab_auditlog",
        &format!("tar -C /var/audit -zcvf {target} ."),
    );
    let audit = s.host_path("/var/audit");
    if !audit.is_dir() {
        s.log
            .push_str("tar: cannot change directory to /var/audit\n");
        return;
    }
    add_tar(s, &audit, &[".".to_string()], "var.audit.tar.gz", true);
}

fn svcs(s: &mut Session) {
    const F: &str = "grab_svcs";
    s.echo(172, F, "  > services");
    s.echo(173, F, "    (all services)");
    let all = s.command(174, F, &["svcs", "-Z", "-a"]);
    s.add_file("svcs.all", all);
    let failing = s.command(175, F, &["svcs", "-Z", "-xv"]);
    s.add_file("svcs.all.xv", failing);
    s.add_dir("svccfg_archive");
    s.echo(178, F, "    (global service archive)");
    if s.headnode {
        let zones = s.command(180, F, &["zoneadm", "list"]);
        for zone in String::from_utf8_lossy(&zones).lines() {
            if zone != "global" && !zone.is_empty() {
                s.echo(182, F, &format!("    (service archive for {zone})"));
            }
        }
        s.echo(186, F, "  > Triton health");
    }
}

fn zfsinfo(s: &mut Session) {
    const F: &str = "grab_zfsinfo";
    s.echo(201, F, "  > zfs info");
    s.echo(202, F, "    (zpool status)");
    let status = s.command(203, F, &["zpool", "status", "-v"]);
    s.add_file("zpool.status", status);
    s.echo(204, F, "    (zfs list)");
    let list = s.command(205, F, &["zfs", "list", "-t", "all"]);
    s.add_file("zfs.list", list);
    s.echo(206, F, "    (iostat -e)");
}

fn headnode_info(s: &mut Session) {
    const F: &str = "grab_headnode_info";
    let usbkey = s.host_path("/usbkey");
    if !usbkey.is_dir() {
        return;
    }
    s.trace(262, F, "find /usbkey -ls");
    let listing = find_ls(s, "/usbkey");
    s.add_file("usbkey.filelist", listing.into_bytes());
    s.echo(263, F, "  > usbkey filelist");
    let args = glob(&s.root, "usbkey/config*");
    traced_tar(s, 264, F, &args, "usbkey.config.tar", false);
}

fn zoneinfo(s: &mut Session) {
    const F: &str = "grab_zoneinfo";
    s.echo(270, F, "  > zone list");
    let zones = s.command(271, F, &["zoneadm", "list", "-v", "-c"]);
    s.add_file("zonelist.vc", zones);
    let vms = s.command(272, F, &["vmadm", "list"]);
    s.add_file("vmadmlist", vms);
    s.echo(273, F, "  > zone kernel state");
}

fn zoneconfigs(s: &mut Session) {
    const F: &str = "grab_zoneconfigs";
    s.echo(279, F, "  > zone configs");
    traced_tar(
        s,
        280,
        F,
        &["etc/zones".to_string()],
        "zone.configs.tar",
        false,
    );
    let lookup = s.command(281, F, &["vmadm", "lookup", "-j"]);
    s.add_file("vmadm.lookup.json", lookup);
}

fn zonelogs(s: &mut Session) {
    if !s.headnode {
        return;
    }
    s.echo(287, "grab_zonelogs", "  > zone logs");
    let mut args = Vec::new();
    for pattern in [
        "zones/*/root/var/svc/log",
        "zones/*/root/var/log",
        "zones/*/root/opt/smartdc/*/log",
    ] {
        args.extend(glob(&s.root, pattern));
    }
    traced_tar(s, 288, "grab_zonelogs", &args, "zone.logs.tar.gz", true);
}

fn vmlogs(s: &mut Session) {
    const F: &str = "grab_vmlogs";
    s.add_dir("vmlogs");
    let vms = s.command(307, F, &["vmadm", "lookup", "brand=~(bhyve|kvm)"]);
    for vm in String::from_utf8_lossy(&vms).split_whitespace() {
        let config = s.command(308, F, &["vmadm", "get", vm]);
        let zonepath = serde_json::from_slice::<Value>(&config)
            .ok()
            .and_then(|c| {
                c.get("zonepath")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let tmp = format!("{}/root/tmp", zonepath.trim_end_matches('/'));
        if zonepath.is_empty() || !s.host_path(&tmp).is_dir() {
            continue;
        }
        let root = s.root.clone();
        let tmp_rel = tmp.trim_start_matches('/');
        // Without a vm.log, bash leaves the pattern as it is: tail fails, and the redirection
        // still creates `<vm>.vm.log*`, empty.
        for log in glob(&root, &format!("{tmp_rel}/vm.log*")) {
            s.trace(311, F, &format!("tail -n {VM_LOG_LINES} /{log}"));
            let data = std::fs::read(root.join(&log)).unwrap_or_default();
            let base = log.rsplit('/').next().unwrap_or(&log);
            let kept = last_lines(&data, VM_LOG_LINES).to_vec();
            s.add_file(&format!("vmlogs/{vm}.{base}"), kept);
        }
    }
    for name in ["vmactions.log", "vmactions.debug"] {
        if let Ok(data) = std::fs::read(s.host_path(&format!("/var/log/{name}"))) {
            s.trace(317, F, &format!("cp /var/log/{name} {}/{name}", s.temp_dir));
            s.add_file(name, data);
        }
    }
}

fn logs(s: &mut Session) {
    const F: &str = "grab_logs";
    s.echo(368, F, "  > logs");
    let mut args: Vec<String> = ["var/svc/log", "etc/svc/volatile", "var/adm"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(glob(&s.root, "var/log/*.log"));
    if s.root.join("var/tmp/upgrade_save").is_dir() {
        args.push("var/tmp/upgrade_save".to_string());
    }
    traced_tar(s, 369, F, &args, "gz-logs.tar.gz", true);
}

fn phonehome(s: &mut Session) {
    if s.root.join("opt/smartdc/phonehome").is_dir() {
        let args = ["opt/smartdc/phonehome".to_string()];
        traced_tar(s, 376, "grab_phonehome", &args, "phonehome.tar.gz", true);
    }
}

fn app_config(s: &mut Session) {
    const F: &str = "grab_app_config";
    s.echo(212, F, "  > app zone config");
    let apps = [
        (
            216,
            "cloudapi",
            "opt/smartdc/cloudapi/etc/cloudapi.cfg",
            "cloudapi.cfg",
        ),
        (
            220,
            "portal",
            "opt/smartdc/portal/cfg/config.js",
            "portal.config.js",
        ),
        (
            224,
            "dhcpd",
            "opt/smartdc/booter/config.json",
            "dhcpd.config.json",
        ),
    ];
    for (line, role, path, name) in apps {
        let role_filter = format!("tags.smartdc_role={role}");
        let zone = s.command_quiet(line, F, &["vmadm", "lookup", "-1", &role_filter]);
        let zone = String::from_utf8_lossy(&zone).trim().to_string();
        if zone.is_empty() {
            continue;
        }
        let config = format!("/zones/{zone}/root/{path}");
        if let Ok(data) = std::fs::read(s.host_path(&config)) {
            s.trace(line + 2, F, &format!("cp {config} {}/{name}", s.temp_dir));
            s.add_file(name, data);
        }
    }
}

/// `sdcadm insts type=vm -j > sdcadm.insts` (sdcadm `lib/cli/do_instances.js`, `listInsts` in
/// `lib/sdcadm.js`): one object per core zone (a VM tagged `smartdc_role`), sorted by the default
/// `-type,service,hostname,version,alias`, printed by `JSON.stringify(rows, null, 4)`.
fn triton_insts(s: &mut Session) {
    const F: &str = "grab_triton_insts";
    s.echo(458, F, "  > triton instances");
    s.trace(460, F, "sdcadm insts type=vm -j");
    let state = &s.sim.state;
    let mut rows: Vec<Value> = Vec::new();
    for host in state.hosts() {
        for vm in &host.vms {
            let Some(role) = crate::jsonfmt::lookup(vm, "tags.smartdc_role") else {
                continue;
            };
            let image = vm.get("image_uuid").cloned().unwrap_or(Value::Null);
            let version = image
                .as_str()
                .and_then(|uuid| state.api.images.get(uuid))
                .and_then(|manifest| manifest.get("version"))
                .cloned()
                .unwrap_or(Value::Null);
            let mut row = serde_json::json!({
                "type": "vm",
                "alias": vm.get("alias").cloned().unwrap_or(Value::Null),
                "version": version,
                "instance": vm.get("uuid").cloned().unwrap_or(Value::Null),
                "zonename": vm.get("uuid").cloned().unwrap_or(Value::Null),
                "service": role.clone(),
                "image": image,
                "state": vm.get("state").cloned().unwrap_or(Value::Null),
                "server": host.server_uuid,
                "hostname": host.hostname,
                "server_ip": host.admin_ip,
            });
            let admin_ip = vm
                .get("nics")
                .and_then(Value::as_array)
                .and_then(|nics| {
                    nics.iter()
                        .find(|n| n.get("nic_tag").and_then(Value::as_str) == Some("admin"))
                })
                .and_then(|nic| nic.get("ip"))
                .cloned();
            if let (Some(ip), Some(obj)) = (admin_ip, row.as_object_mut()) {
                obj.insert("ip".into(), ip);
            }
            rows.push(row);
        }
    }
    let key = |row: &Value| {
        ["service", "hostname", "version", "alias"]
            .map(|k| crate::jsonfmt::js_string(row.get(k)).unwrap_or_default())
    };
    rows.sort_by_key(key);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    if serde::Serialize::serialize(&rows, &mut ser).is_ok() {
        out.push(b'\n');
        s.add_file("sdcadm.insts", out);
    }
}

fn rabbitmq_info(s: &mut Session) {
    const F: &str = "grab_rabbitmq_info";
    s.echo(399, F, "  > rabbitmq status");
    // The script asks for a zone *named* rabbitmq; Triton names zones by uuid, so this branch
    // is what runs on a Triton headnode.
    s.trace(404, F, "zoneadm -z rabbitmq list -p");
    s.trace(414, F, "echo 'No rabbitmq zone or zone not running'");
    s.add_file(
        "rabbitmq.list",
        b"No rabbitmq zone or zone not running\n".to_vec(),
    );
}

/// Traces `tar -cvf TEMPDIR/<name> ARGS` (`-zcvf` with gzip) run from `/`, and makes it.
fn traced_tar(s: &mut Session, line: u32, function: &str, args: &[String], name: &str, gzip: bool) {
    let flags = if gzip { "-zcvf" } else { "-cvf" };
    let command = format!("tar {flags} {}/{name} {}", s.temp_dir, args.join(" "));
    s.trace(line, function, &command);
    let root = s.root.clone();
    add_tar(s, &root, args, name, gzip);
}

/// `tar -cvf` (or `-zcvf`) of `args` in `root` into `TEMPDIR/<name>`, its listing in the log.
fn add_tar(s: &mut Session, root: &std::path::Path, args: &[String], name: &str, gzip: bool) {
    let archive = match tar_paths(root, args, s.mtime) {
        Ok(archive) => archive,
        Err(e) => {
            s.log.push_str(&format!("tar: {name}: {e}\n"));
            return;
        }
    };
    for line in &archive.listing {
        s.log.push_str(line);
        s.log.push('\n');
    }
    if gzip {
        add_gzipped(s, name, &archive.bytes);
    } else {
        s.add_file(name, archive.bytes);
    }
}

fn add_gzipped(s: &mut Session, name: &str, bytes: &[u8]) {
    match tarball::gzip(bytes) {
        Ok(compressed) => s.add_file(name, compressed),
        Err(e) => s.log.push_str(&format!("gzip: {name}: {e}\n")),
    }
}

/// `find DIR -ls` of a host directory: inode, KiB blocks, mode, links, owner, group, size, date
/// (the simulated now) and the host path, for every entry below it, in name order.
fn find_ls(s: &Session, dir: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let date = s
        .sim
        .now()
        .map(|t| t.strftime("%b %e %H:%M").to_string())
        .unwrap_or_default();
    let mut out = String::new();
    let mut pending = vec![dir.to_string()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(s.host_path(&path)) else {
            continue;
        };
        out.push_str(&format!(
            "{:>9} {:>5} {} {:>3} root     root     {:>8} {date} {path}\n",
            meta.ino(),
            meta.blocks().div_ceil(2),
            mode_text(&meta),
            meta.nlink(),
            meta.len(),
        ));
        if meta.is_dir() {
            let mut children: Vec<String> = std::fs::read_dir(s.host_path(&path))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            children.sort_unstable_by(|a, b| b.cmp(a));
            pending.extend(children.into_iter().map(|c| format!("{path}/{c}")));
        }
    }
    out
}

/// `ls -l` style mode: `drwxr-xr-x`.
fn mode_text(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::PermissionsExt;
    let kind = if meta.is_dir() {
        'd'
    } else if meta.file_type().is_symlink() {
        'l'
    } else {
        '-'
    };
    let mode = meta.permissions().mode();
    let mut text = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}
