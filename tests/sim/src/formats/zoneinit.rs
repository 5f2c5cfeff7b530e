//! The OS-zone first-boot service logs: zoneinit's `set -x` shell trace and the mdata services,
//! each framed by svc.startd's method lines.

use super::smf;
use crate::clock::{Ms, SECOND};

/// How the zone's first boot went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// zoneinit ran, enabled mdata:fetch and rebooted the zone.
    Ok,
    /// zoneinit's `04-mdata.sh` include failed (the zone never reboots, provisioning times out).
    ZoneinitFailed,
}

/// `system-zoneinit:default.log` lines with their times.
pub fn zoneinit_log(start: Ms, hostname: &str, outcome: Outcome) -> Vec<(Ms, String)> {
    let mut t = start;
    let mut out = vec![(t, smf::executing_start(t, "/var/zoneinit/zoneinit"))];
    let trace: &[&str] = &[
        "+ PATH=/usr/bin:/usr/sbin:/opt/local/bin:/opt/local/sbin",
        "+ export PATH",
        "+ ZONECONFIG=/var/zoneinit/zoneconfig",
        "+ ZONEINIT_INCLUDES=/var/zoneinit/includes",
        "+ . /var/zoneinit/includes/00-mdata.sh",
        "++ log 'getting hostname from metadata'",
        "++ printf 'zoneinit: %s\\n' 'getting hostname from metadata'",
        "zoneinit: getting hostname from metadata",
        "+++ mdata-get sdc:hostname",
        "++ HOSTNAME=__HOST__",
        "+ . /var/zoneinit/includes/01-config.sh",
        "++ log 'setting up zone configuration'",
        "zoneinit: setting up zone configuration",
        "++ cat /var/zoneinit/zoneconfig",
        "+ . /var/zoneinit/includes/02-config.sh",
        "++ log 'configuring /etc/hosts and nodename'",
        "zoneinit: configuring /etc/hosts and nodename",
        "++ echo __HOST__",
        "++ hostname __HOST__",
        "+ . /var/zoneinit/includes/03-ssh.sh",
        "++ log 'generating SSH host keys'",
        "zoneinit: generating SSH host keys",
        "++ /usr/bin/ssh-keygen -q -t rsa -N '' -f /etc/ssh/ssh_host_rsa_key",
        "++ /usr/bin/ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key",
        "+ . /var/zoneinit/includes/04-mdata.sh",
        "++ log 'fetching user-script and users from metadata'",
        "zoneinit: fetching user-script and users from metadata",
    ];
    for line in trace {
        t += 120 + (line.len() as Ms) * 7;
        out.push((t, line.replace("__HOST__", hostname)));
    }
    match outcome {
        Outcome::Ok => {
            for line in [
                "+++ mdata-get sdc:operator-script",
                "++ log 'enabling mdata:fetch and rebooting'",
                "zoneinit: enabling mdata:fetch and rebooting",
                "++ svcadm enable mdata:fetch",
                "+ log 'zoneinit completed, rebooting'",
                "zoneinit: zoneinit completed, rebooting",
                "+ svcadm disable zoneinit",
                "+ reboot",
            ] {
                t += 300;
                out.push((t, line.to_string()));
            }
            t += 2 * SECOND;
            out.push((t, smf::method_exited(t, "start", 0)));
        }
        Outcome::ZoneinitFailed => {
            for line in [
                "+++ mdata-get sdc:operator-script",
                "++ USERSCRIPT=",
                "+++ mdata-get sdc:user-script",
                "mdata-get: failed to read from metadata socket: Connection reset by peer",
                "++ log 'ERROR: could not fetch user-script from metadata'",
                "zoneinit: ERROR: could not fetch user-script from metadata",
                "++ exit 95",
            ] {
                t += 30 * SECOND;
                out.push((t, line.to_string()));
            }
            t += SECOND;
            out.push((t, smf::method_exited(t, "start", 95)));
        }
    }
    out
}

/// `smartdc-mdata:fetch.log` (second boot).
pub fn mdata_fetch_log(start: Ms) -> Vec<(Ms, String)> {
    vec![
        (
            start,
            smf::executing_start(start, "/lib/svc/method/mdata-fetch"),
        ),
        (start + 1800, smf::method_exited(start + 1800, "start", 0)),
    ]
}

/// `smartdc-mdata:execute.log` (second boot): this moves `/var/svc/provisioning` away.
pub fn mdata_execute_log(start: Ms) -> Vec<(Ms, String)> {
    vec![
        (
            start,
            smf::executing_start(start, "/lib/svc/method/mdata-execute"),
        ),
        (start + 900, smf::method_exited(start + 900, "start", 0)),
    ]
}
