//! Running at low CPU and I/O priority, so a busy production headnode stays responsive while
//! the collector reads logs and runs commands.
//!
//! Both priorities are set once, first thing, before any thread or command is started: threads
//! and child processes inherit them (on Linux, nice and I/O priority are per thread and copied to
//! each new thread and process), so every `vmadm`, `zfs` or `sdc-*` command the collector runs is
//! lowered too.
//!
//! - CPU: nice 19, the lowest priority, with `setpriority(2)` on every Unix. On SmartOS this
//!   orders the collector below the other processes of the global zone; the CPU shares between
//!   zones (the fair share scheduler) are not changed by it.
//! - I/O on Linux: `ioprio_set(2)` best-effort class, level 7 (the lowest level that still makes
//!   progress). Not the idle class: on a disk kept busy, idle-class reads may wait without end,
//!   and the collector would run out its deadline with an empty bundle.
//! - I/O on illumos: there is no per-process I/O priority. ZFS schedules I/O per zone (the
//!   zone I/O throttle weighs zones against each other by `zfs-io-priority`), so a process of
//!   the global zone cannot step back on its own. The collector keeps its reads bounded instead:
//!   logs are entered by bisection and cut to the window, every file and the whole bundle have
//!   a size cap, and the whole run a deadline.

/// What was applied, one sentence each, for the manifest's notes and `-v`; each starts with
/// `priority: ` so a reader can tell these notes from reports of gaps.
pub fn lower() -> Vec<String> {
    vec![lower_cpu(), lower_io()]
}

/// The nice value this process gets.
const NICE: i32 = 19;

#[cfg(unix)]
fn lower_cpu() -> String {
    let before = current_nice();
    // SAFETY: setpriority only changes the scheduling priority of this process (who = 0).
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    if rc != 0 {
        return format!(
            "priority: CPU not lowered: setpriority: {}",
            std::io::Error::last_os_error()
        );
    }
    match (before, current_nice()) {
        (Some(before), Some(after)) => {
            format!("priority: CPU nice {after} (was {before}), inherited by every command run")
        }
        _ => format!("priority: CPU nice {NICE}, inherited by every command run"),
    }
}

#[cfg(not(unix))]
fn lower_cpu() -> String {
    "priority: CPU not lowered: not supported on this operating system".to_string()
}

/// This process's nice value, when it can be read (`getpriority` may return -1 as a value, so
/// errno tells an error apart).
#[cfg(unix)]
fn current_nice() -> Option<i32> {
    clear_errno();
    // SAFETY: getpriority only reads the scheduling priority of this process.
    let value = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if value == -1 && std::io::Error::last_os_error().raw_os_error().unwrap_or(0) != 0 {
        None
    } else {
        Some(value)
    }
}

#[cfg(unix)]
fn clear_errno() {
    // SAFETY: each platform's errno location is a valid, thread-local int for this thread.
    unsafe {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            *libc::__errno_location() = 0;
        }
        #[cfg(any(target_os = "illumos", target_os = "solaris"))]
        {
            *libc::___errno() = 0;
        }
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        {
            *libc::__error() = 0;
        }
    }
}

/// `ioprio_set(2)` constants (linux/ioprio.h): who = a process (0: this one), class and level
/// packed as `class << 13 | level`.
#[cfg(target_os = "linux")]
mod ioprio {
    pub const WHO_PROCESS: libc::c_int = 1;
    pub const CLASS_SHIFT: u32 = 13;
    pub const CLASS_BEST_EFFORT: libc::c_int = 2;
    pub const LOWEST_LEVEL: libc::c_int = 7;

    pub fn value(class: libc::c_int, level: libc::c_int) -> libc::c_int {
        (class << CLASS_SHIFT) | level
    }
}

#[cfg(target_os = "linux")]
fn lower_io() -> String {
    let wanted = ioprio::value(ioprio::CLASS_BEST_EFFORT, ioprio::LOWEST_LEVEL);
    // SAFETY: ioprio_set only changes the I/O priority of this process (who = 0).
    let rc = unsafe { libc::syscall(libc::SYS_ioprio_set, ioprio::WHO_PROCESS, 0, wanted) };
    if rc != 0 {
        return format!(
            "priority: I/O not lowered: ioprio_set: {}",
            std::io::Error::last_os_error()
        );
    }
    "priority: I/O best-effort class, level 7 (ioprio_set), inherited by every command run"
        .to_string()
}

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
fn lower_io() -> String {
    "priority: I/O not lowered: illumos has no per-process I/O priority (ZFS schedules I/O per \
     zone); reads are bounded instead (bisection into logs, per-file and total caps, deadline)"
        .to_string()
}

#[cfg(not(any(target_os = "linux", target_os = "illumos", target_os = "solaris")))]
fn lower_io() -> String {
    "priority: I/O not lowered: not supported on this operating system".to_string()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_io_priority_value_is_best_effort_level_7() {
        // linux/ioprio.h: IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7) = 2 << 13 | 7.
        assert_eq!(
            ioprio::value(ioprio::CLASS_BEST_EFFORT, ioprio::LOWEST_LEVEL),
            16391
        );
    }
}
