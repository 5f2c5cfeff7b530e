//! The OS-zone first-boot service logs: zoneinit's `set -o xtrace` shell trace and the mdata
//! services, each framed by svc.startd's method lines.
//!
//! Structure from TritonDataCenter/zoneinit: `zoneinit` (xtrace with bash's default `+ ` PS4, a
//! `log` function printing `<script>: <text>`, one `(start)` per include, `(finish)` at the
//! end, an EXIT trap that prints `<script>: received exit status <n>`, moves
//! `/var/svc/provisioning` to `provision_failure` and exits 95), `includes/*.sh` (their `log`
//! texts), `mdata-fetch` (PS4 `[<ISO time>] <file>:<line>: `, `Metadata couldn't be
//! retrieved.` then exit 95; the platform's `/lib/svc/method/mdata-fetch` is, per the README,
//! only slightly different), `mdata.xml` (mdata:execute depends on mdata:fetch, and
//! mdata-execute is what renames `/var/svc/provisioning` to `provision_success`).

use super::smf;
use crate::clock::{self, Ms, SECOND};

/// How the zone's first boots went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// zoneinit ran and scheduled the reboot; on the second boot mdata:fetch and mdata:execute
    /// ran and moved `/var/svc/provisioning` away.
    Ok,
    /// zoneinit ran, but on the second boot mdata:fetch could not read the metadata and exited
    /// 95 (maintenance); mdata:execute never ran, so `/var/svc/provisioning` stayed and VM.js
    /// timed out waiting for it.
    MdataFetchFailed,
}

/// The line in `smartdc-mdata:fetch.log` that names the failure.
pub const FETCH_FAILURE: &str = "Metadata couldn't be retrieved.";

const ZONEINIT: &str = "/var/zoneinit/zoneinit";
const INCLUDES: &str = "/var/zoneinit/includes";

/// `system-zoneinit:default.log` lines with their times (zoneinit itself succeeds in both
/// outcomes).
pub fn zoneinit_log(start: Ms, hostname: &str, zonename: &str) -> Vec<(Ms, String)> {
    let mut t = start;
    let mut out = vec![(t, smf::executing_start(t, ZONEINIT))];
    let epoch = start / 1000;
    let mut trace: Vec<String> = [
        "+ . /lib/svc/share/smf_include.sh",
        "++ SMF_EXIT_OK=0",
        "++ SMF_EXIT_ERR_FATAL=95",
        "++ SMF_EXIT_ERR_CONFIG=96",
        "+ smf_is_globalzone",
        "++ /sbin/zonename",
        "+ ZONEINIT_INCLUDES=/var/zoneinit/includes",
        "+ ZONECONFIG=/root/zoneconfig",
        "+ '[' -e /root/zoneconfig ']'",
        "+ [[ ! start == \\s\\t\\a\\r\\t ]]",
        "+ [[ ! -e /var/svc/provisioning ]]",
        "++ svcprop -p application/done zoneinit",
        "+ [[ false =~ true ]]",
        "+ trap 'exit_handler \"received exit status\" $?' EXIT",
        "++ date +%s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    trace.push(format!("+ START_TIME={epoch}"));
    trace.extend(log_call("zoneinit", "(start)"));
    let includes: [(&str, &[&str]); 9] = [
        ("00-mdata.sh", &["waiting for metadata to show up"]),
        ("01-reboot-file.sh", &[]),
        (
            "02-config.sh",
            &[
                "determine machine parameters and configuration",
                "checking for duplicate IPs",
            ],
        ),
        ("04-mdata.sh", &["enabling metadata agent"]),
        ("11-files.sh", &[]),
        ("12-network.sh", &["setting hostname, IPs and resolvers"]),
        ("91-passwords.sh", &[]),
        ("92-sshd.sh", &[]),
        (
            "999-cleanup.sh",
            &["cleaning up", "scheduling an immediate reboot"],
        ),
    ];
    for (inc, logs) in includes {
        let path = format!("{INCLUDES}/{inc}");
        trace.push("+ for INC in '${ZONEINIT_INCLUDES}/*.sh'".to_string());
        trace.extend(log_call_at(&path, inc, "(start)"));
        trace.push(format!("+ source {path}"));
        for text in logs {
            trace.extend(log_call_at(&path, inc, text));
            match *text {
                "enabling metadata agent" => trace.push("++ svcadm enable mdata:fetch".into()),
                "setting hostname, IPs and resolvers" => {
                    trace.push(format!("++ echo {hostname}"));
                    trace.push(format!("++ /bin/hostname {hostname}"));
                }
                "determine machine parameters and configuration" => {}
                "cleaning up" => {
                    trace.push("++ svccfg -s zoneinit 'setprop application/done = true'".into());
                    trace.push("++ svcadm refresh zoneinit".into());
                    trace.push("++ rm -f /root/zoneconfig".into());
                }
                "scheduling an immediate reboot" => {
                    trace.push("++ echo 'reboot >/dev/null'".into());
                    trace.push("++ at now".into());
                }
                _ => {}
            }
        }
        if inc == "02-config.sh" {
            trace.push("+++ mdata sdc:zonename".into());
            trace.push(format!("++ ZONENAME={zonename}"));
            trace.push("+++ mdata sdc:hostname".into());
            trace.push(format!("++ HOSTNAME={hostname}"));
        }
    }
    trace.push("+ unset INC".into());
    trace.push("++ date +%s".into());
    trace.push(format!("+ END_TIME={}", epoch + 9));
    trace.push("+ RUN_TIME=9".into());
    trace.push("+ '[' 9 -gt 0 ']'".into());
    trace.extend(log_call("zoneinit", "total runtime 9 seconds"));
    trace.extend(log_call("zoneinit", "(finish)"));
    trace.push("+ exit 0".into());
    trace.push("++ exit_handler 'received exit status' 0".into());
    trace.push("+++ basename zoneinit".into());
    trace.push("++ local WHERE=zoneinit".into());
    trace.push("++ local EXITCODE=0".into());
    trace.push("++ '[' 0 -gt 0 ']'".into());
    for line in trace {
        t += 40 + (line.len() as Ms) * 3;
        out.push((t, line));
    }
    t += SECOND;
    out.push((t, smf::method_exited(t, "start", 0)));
    out
}

/// The trace of a `log "<text>"` call from zoneinit itself (`INC` unset).
fn log_call(script: &str, text: &str) -> Vec<String> {
    vec![
        format!("+ log '{text}'"),
        format!("++ basename {script}"),
        format!("+ local WHERE={script}"),
        format!("+ echo '{script}: {text}'"),
        format!("{script}: {text}"),
    ]
}

/// The same from inside an include (`INC` set to the include's path).
fn log_call_at(path: &str, name: &str, text: &str) -> Vec<String> {
    vec![
        format!("++ log '{text}'"),
        format!("+++ basename {path}"),
        format!("++ local WHERE={name}"),
        format!("++ echo '{name}: {text}'"),
        format!("{name}: {text}"),
    ]
}

/// `smartdc-mdata:fetch.log` (second boot).
pub fn mdata_fetch_log(start: Ms, outcome: Outcome) -> Vec<(Ms, String)> {
    const FILE: &str = "/lib/svc/method/mdata-fetch";
    let mut out = vec![(start, smf::executing_start(start, FILE))];
    let mut t = start;
    let trace = |t: Ms, line: u32, text: &str| -> (Ms, String) {
        (t, format!("[{}] {FILE}:{line}: {text}", clock::iso_s(t)))
    };
    let steps: Vec<(u32, &str)> = vec![
        (37, ". /lib/svc/share/smf_include.sh"),
        (38, "smf_is_globalzone"),
        (40, "'[' '!' -x /usr/sbin/mdata-get ']'"),
        (
            48,
            "svcprop -p start/timeout_seconds svc:/smartdc/mdata:fetch",
        ),
        (48, "cur_timeout=1800"),
        (49, "[[ -z 1800 ]]"),
        (49, "[[ 1800 -lt 1800 ]]"),
        (58, "[[ -x /usr/vm/sbin/filewait ]]"),
        (60, "/usr/vm/sbin/filewait /.zonecontrol/metadata.sock"),
        (87, "'[' '!' -e /.zonecontrol/metadata.sock ']'"),
        (93, "/usr/sbin/mdata-get sdc:uuid"),
    ];
    for (line, text) in steps {
        t += 30;
        out.push(trace(t, line, text));
    }
    match outcome {
        Outcome::Ok => {
            for (line, text) in [
                (94, "result=0"),
                (95, "[[ 0 -gt 0 ]]"),
                (101, "'[' -z ']'"),
                (102, "/usr/bin/sysinfo -fu"),
                (104, "echo 'Retrieving metadata user-data'"),
            ] {
                t += 200;
                out.push(trace(t, line, text));
            }
            out.push((t, "Retrieving metadata user-data".into()));
            t += 150;
            out.push(trace(t, 105, "/usr/sbin/mdata-get user-data"));
            t += 150;
            out.push(trace(t, 106, "case $? in"));
            out.push((t, "Metadata user-data not defined.".into()));
            t += 1200;
            out.push((t, smf::method_exited(t, "start", 0)));
        }
        Outcome::MdataFetchFailed => {
            for (line, text) in [
                (94, "result=0"),
                (95, "[[ 0 -gt 0 ]]"),
                (101, "'[' -z ']'"),
                (102, "/usr/bin/sysinfo -fu"),
                (104, "echo 'Retrieving metadata user-data'"),
            ] {
                t += 200;
                out.push(trace(t, line, text));
            }
            out.push((t, "Retrieving metadata user-data".into()));
            t += 150;
            out.push(trace(t, 105, "/usr/sbin/mdata-get user-data"));
            // mdata-get gives up on the socket after its own timeout.
            t += 60 * SECOND;
            out.push(trace(t, 106, "case $? in"));
            out.push(trace(
                t + 2,
                116,
                "echo 'Metadata couldn'\\''t be retrieved.'",
            ));
            out.push((t + 2, FETCH_FAILURE.into()));
            out.push(trace(t + 3, 117, "exit 95"));
            t += SECOND;
            out.push((t, smf::method_exited(t, "start", 95)));
        }
    }
    out
}

/// `smartdc-mdata:execute.log` (second boot, only when mdata:fetch came online): this is what
/// moves `/var/svc/provisioning` away.
pub fn mdata_execute_log(start: Ms) -> Vec<(Ms, String)> {
    vec![
        (
            start,
            smf::executing_start(start, "/lib/svc/method/mdata-execute"),
        ),
        (start + 20, "+ '[' -f /var/svc/provisioning ']'".into()),
        (
            start + 25,
            "+ mv /var/svc/provisioning /var/svc/provision_success".into(),
        ),
        (start + 900, smf::method_exited(start + 900, "start", 0)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoneinit_log_is_framed_by_the_method_lines_and_ends_well() {
        let lines = zoneinit_log(1_700_000_000_000, "web01", "0b4a1d5c");
        assert!(lines[0].1.contains("Executing start method"));
        assert!(lines.last().map(|l| l.1.contains("exited with status 0.")) == Some(true));
        assert!(lines.iter().any(|l| l.1 == "zoneinit: (finish)"));
        assert!(lines
            .iter()
            .any(|l| l.1 == "04-mdata.sh: enabling metadata agent"));
    }

    #[test]
    fn failed_fetch_exits_95_after_its_message() {
        let lines = mdata_fetch_log(1_700_000_000_000, Outcome::MdataFetchFailed);
        let msg = lines.iter().position(|l| l.1 == FETCH_FAILURE);
        let exit = lines
            .iter()
            .position(|l| l.1.contains("exited with status 95."));
        assert!(matches!((msg, exit), (Some(m), Some(e)) if m < e));
    }
}
