//! The KVM zone's `/zones/<uuid>/root/tmp/vm.log` as qemu-exec writes it at each start: zone
//! privileges, the qemu argv, then an `=== OUTPUT (<time>) ===` header and qemu's own output.

use crate::clock::{self, Ms};

/// Privileges qemu-exec lists (the KVM zone's limit set).
const PRIVILEGES: &[&str] = &[
    "contract_event",
    "contract_identity",
    "contract_observer",
    "file_chown",
    "file_chown_self",
    "file_dac_execute",
    "file_dac_read",
    "file_dac_search",
    "file_dac_write",
    "file_owner",
    "file_setid",
    "ipc_dac_read",
    "ipc_dac_write",
    "ipc_owner",
    "net_bindmlp",
    "net_icmpaccess",
    "net_mac_aware",
    "net_observability",
    "net_privaddr",
    "net_rawaccess",
    "proc_audit",
    "proc_chroot",
    "proc_clock_highres",
    "proc_exec",
    "proc_fork",
    "proc_info",
    "proc_lock_memory",
    "proc_owner",
    "proc_prioup",
    "proc_session",
    "proc_setid",
    "proc_taskid",
    "sys_acct",
    "sys_admin",
    "sys_audit",
    "sys_ip_config",
    "sys_iptun_config",
    "sys_mount",
    "sys_nfs",
    "sys_ppp_config",
    "sys_resource",
];

pub struct Boot<'a> {
    pub vm_uuid: &'a str,
    pub alias: &'a str,
    pub ram_mb: u64,
    pub vcpus: u32,
    pub macs: &'a [String],
    pub vnc_port: u32,
}

/// The qemu argv, one argument per line as qemu-exec prints it.
pub fn argv(b: &Boot) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "/smartdc/bin/qemu-system-x86_64".into(),
        "-m".into(),
        b.ram_mb.to_string(),
        "-name".into(),
        b.vm_uuid.into(),
        "-uuid".into(),
        b.vm_uuid.into(),
        "-chardev".into(),
        "socket,id=qmp,path=/tmp/vm.qmp,server,nowait".into(),
        "-qmp".into(),
        "chardev:qmp".into(),
        "-vnc".into(),
        "unix:/tmp/vm.vnc".into(),
        "-parallel".into(),
        "none".into(),
        "-usb".into(),
        "-usbdevice".into(),
        "tablet".into(),
        "-k".into(),
        "en-us".into(),
        "-vga".into(),
        "std".into(),
        "-smbios".into(),
        format!("type=1,manufacturer=Joyent,product=SmartDC HVM,version=6.2012Q1,serial={},uuid={},sku=001,family=Virtual Machine", b.vm_uuid, b.vm_uuid),
        "-smp".into(),
        format!("{},sockets=1,cores={},threads=1", b.vcpus, b.vcpus),
        "-drive".into(),
        format!("file=/dev/zvol/rdsk/zones/{}-disk0,if=virtio,index=0,media=disk,boot=on", b.vm_uuid),
    ];
    for (i, mac) in b.macs.iter().enumerate() {
        args.push("-device".into());
        args.push(format!(
            "virtio-net-pci,mac={mac},tx=timer,x-txtimer=200000,x-txburst=128,vlan={i}"
        ));
        args.push("-net".into());
        args.push(format!("vnic,name=net{i},vlan={i},ifname=net{i}"));
    }
    args.extend([
        "-no-hpet".into(),
        "-chardev".into(),
        "socket,id=serial0,path=/tmp/vm.console,server,nowait".into(),
        "-serial".into(),
        "chardev:serial0".into(),
        "-daemonize".into(),
    ]);
    args
}

/// Lines up to and including the OUTPUT header.
pub fn header(b: &Boot, t: Ms) -> Vec<String> {
    let mut lines = vec!["== Zone privileges ==".to_string()];
    lines.extend(PRIVILEGES.iter().map(|p| (*p).to_string()));
    lines.push("=== ARGV ===".to_string());
    lines.extend(argv(b));
    lines.push(format!("=== OUTPUT ({}) ===", clock::iso_s(t)));
    lines
}

/// The `/zones/<uuid>/root/startvm` script the zone's boot runs.
pub fn startvm(b: &Boot) -> String {
    let mut out = String::from("#!/usr/bin/bash\n\nexport PATH=/usr/bin:/usr/sbin:/smartdc/bin\n\nexec /smartdc/bin/qemu-exec \\\n");
    let args = argv(b);
    for (i, arg) in args.iter().enumerate() {
        let sep = if i + 1 == args.len() { "" } else { " \\" };
        out.push_str(&format!("    \"{arg}\"{sep}\n"));
    }
    out.push_str("\nexit 1\n");
    out
}
