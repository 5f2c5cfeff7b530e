//! Choosing log files by name: logadm-rotated files and per-task log files carry their time in
//! the name, so files outside the window are never opened.

use jiff::{civil::DateTime, tz::TimeZone, SignedDuration, Timestamp};

use crate::window::TimeWindow;

/// How much time one rotated file is assumed to hold before its stamp. Rotation is hourly
/// (`logadm -p 1h`); a size-triggered rotation holds less, which only makes the guess wider.
pub const ROTATION_PERIOD: SignedDuration = SignedDuration::from_hours(1);

/// A logadm-rotated file: `<name>_<nodename>_<YYYY-MM-DDTHH:MM:SS>.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedName {
    /// e.g. `vmapi`, `wf-runner`, `cn-agent-tasks`, `provisioner_tasks`, `qemu`.
    pub name: String,
    /// Zone uuid, hostname, or `<vm>@<server>` for qemu logs.
    pub nodename: String,
    /// When the rotation ran (UTC): the file holds the records logged in the period before.
    pub stamp: Timestamp,
}

impl RotatedName {
    /// Parses from the right, because names may contain `_` (`provisioner_tasks`) but the
    /// nodename and the stamp do not.
    pub fn parse(file_name: &str) -> Option<RotatedName> {
        let base = file_name.strip_suffix(".log")?;
        let (rest, stamp) = base.rsplit_once('_')?;
        let (name, nodename) = rest.rsplit_once('_')?;
        if name.is_empty() || nodename.is_empty() {
            return None;
        }
        let civil: DateTime = stamp.parse().ok()?;
        let stamp = TimeZone::UTC.to_timestamp(civil).ok()?;
        Some(RotatedName {
            name: name.to_string(),
            nodename: nodename.to_string(),
            stamp,
        })
    }

    /// The period the file holds: `(stamp - 1 h, stamp]`.
    pub fn covers(&self) -> (Timestamp, Timestamp) {
        let start = self
            .stamp
            .checked_sub(ROTATION_PERIOD)
            .unwrap_or(self.stamp);
        (start, self.stamp)
    }

    pub fn overlaps(&self, window: &TimeWindow) -> bool {
        let (start, end) = self.covers();
        window.overlaps(start, end)
    }
}

/// A per-task log file: `<13-digit epoch ms>-<pid>-<task>.log` (cn-agent, provisioner, vmadm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLogName {
    pub started: Timestamp,
    pub pid: u32,
    /// e.g. `machine_create`, `create`.
    pub task: String,
}

impl TaskLogName {
    pub fn parse(file_name: &str) -> Option<TaskLogName> {
        let base = file_name.strip_suffix(".log")?;
        let mut parts = base.splitn(3, '-');
        let ms = parts.next()?;
        let pid = parts.next()?;
        let task = parts.next()?;
        if ms.len() != 13 || !ms.bytes().all(|b| b.is_ascii_digit()) || task.is_empty() {
            return None;
        }
        let started = Timestamp::from_millisecond(ms.parse().ok()?).ok()?;
        Some(TaskLogName {
            started,
            pid: pid.parse().ok()?,
            task: task.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn window(since: &str, until: &str) -> TimeWindow {
        TimeWindow {
            since: ts(since),
            until: ts(until),
            derived_from: "test".into(),
        }
    }

    #[test]
    fn parses_core_zone_names() {
        let n = RotatedName::parse(
            "vmapi_8f1f3c9e-2a5b-4c1d-9e0f-123456789abc_2024-01-18T04:00:00.log",
        )
        .expect("parsed");
        assert_eq!(n.name, "vmapi");
        assert_eq!(n.nodename, "8f1f3c9e-2a5b-4c1d-9e0f-123456789abc");
        assert_eq!(n.stamp, ts("2024-01-18T04:00:00Z"));
        let n =
            RotatedName::parse("provisioner_tasks_cn01_2014-03-25T23:00:00.log").expect("parsed");
        assert_eq!(n.name, "provisioner_tasks");
        assert_eq!(n.nodename, "cn01");
        assert!(RotatedName::parse("smartdc-site-vmapi:default.log").is_none());
        assert!(RotatedName::parse("vmapi_x_notatime.log").is_none());
    }

    #[test]
    fn a_file_holds_the_hour_before_its_stamp() {
        let t04 = RotatedName::parse("vmapi_z_2024-01-18T04:00:00.log").expect("parsed");
        // Window 03:10-03:20 lies in the hour before 04:00: the T04 file holds it.
        assert!(t04.overlaps(&window("2024-01-18T03:10:00Z", "2024-01-18T03:20:00Z")));
        // Window 04:10-04:20 lies after the T04 file (it is in the T05 file).
        assert!(!t04.overlaps(&window("2024-01-18T04:10:00Z", "2024-01-18T04:20:00Z")));
        // Window 01:00-02:30 ends before the T04 file starts.
        assert!(!t04.overlaps(&window("2024-01-18T01:00:00Z", "2024-01-18T02:30:00Z")));
        let t05 = RotatedName::parse("vmapi_z_2024-01-18T05:00:00.log").expect("parsed");
        assert!(t05.overlaps(&window("2024-01-18T04:10:00Z", "2024-01-18T04:20:00Z")));
    }

    #[test]
    fn parses_task_log_names() {
        let t = TaskLogName::parse("1705550400123-004242-machine_create.log").expect("parsed");
        assert_eq!(t.started, ts("2024-01-18T04:00:00.123Z"));
        assert_eq!(t.pid, 4242);
        assert_eq!(t.task, "machine_create");
        assert!(TaskLogName::parse("cn-agent-tasks.log").is_none());
        assert!(TaskLogName::parse("170555040012-1-x.log").is_none());
    }
}
