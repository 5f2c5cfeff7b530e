//! Free space on the output file system: the collector must not fill the disk of a production
//! host (on a SmartOS headnode `/var/tmp` is on the `zones` pool, which every zone writes to).
//!
//! A reserve is always left free: 5% of the file system or 512 MiB, whichever is less. Before
//! the bundle is started, there must be room for the reserve plus a minimal bundle (1 MiB: the
//! manifest and the archive's end); otherwise nothing is written at all (exit 3). While writing,
//! every item is fitted into the room left (free space minus the reserve minus that 1 MiB), and
//! free space is measured again every 8 MiB stored and whenever an item would not fit, since
//! other writers share the file system and compression makes the bundle smaller than what was
//! stored. When the room runs out, the item is cut (its tail kept), collection stops, and the
//! bundle is finished and marked incomplete with a note saying where space ran out.

use std::path::{Path, PathBuf};

use crate::size::human;

/// The reserve is this percentage of the file system's size...
pub const RESERVE_PERCENT: u64 = 5;
/// ...but never more than this.
pub const RESERVE_MAX: u64 = 512 << 20;
/// Room kept for finishing the bundle (manifest, archive end, `.sha256`).
pub const FINISH_ALLOWANCE: u64 = 1 << 20;
/// Free space is measured again after this many bytes stored.
pub const CHECK_EVERY: u64 = 8 << 20;

/// How free space is measured.
#[derive(Debug, Clone)]
pub enum Probe {
    /// `statvfs(2)` of the output directory.
    FileSystem(PathBuf),
    /// A file system taken to have this much free at the start, less what the bundle stores
    /// (the hidden `--assume-free-bytes`, to exercise running short without filling a disk).
    Assumed { free_at_start: u64 },
}

/// Free and total bytes of a file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes available to this user.
    pub free: u64,
    pub total: u64,
}

impl Probe {
    fn measure(&self, stored: u64) -> Option<Space> {
        match self {
            Probe::FileSystem(dir) => file_system_space(dir),
            Probe::Assumed { free_at_start } => Some(Space {
                free: free_at_start.saturating_sub(stored),
                total: *free_at_start,
            }),
        }
    }
}

/// The reserve for a file system of `total` bytes: 5% of it or 512 MiB, whichever is less.
pub fn default_reserve(total: u64) -> u64 {
    (total / 100 * RESERVE_PERCENT).min(RESERVE_MAX)
}

/// Where space ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub free: u64,
    /// Bytes stored in the bundle when it happened.
    pub stored: u64,
    /// The item that was cut or not collected (source and path or command).
    pub at: String,
}

/// Keeps the bundle within the free space of its file system.
#[derive(Debug, Clone)]
pub struct SpaceGuard {
    dir: PathBuf,
    probe: Probe,
    reserve: u64,
    /// Free bytes at the last measurement.
    free: u64,
    /// Bytes stored in total, and at the last measurement.
    stored: u64,
    stored_at_measure: u64,
    shortage: Option<Shortage>,
}

impl SpaceGuard {
    /// Measures `dir` before anything is written. `Ok(None)`: free space cannot be measured
    /// there (not checked). `Err`: not even a minimal bundle fits beside the reserve.
    pub fn start(
        dir: &Path,
        probe: Probe,
        reserve: Option<u64>,
    ) -> Result<Option<SpaceGuard>, String> {
        let Some(space) = probe.measure(0) else {
            return Ok(None);
        };
        let reserve = reserve.unwrap_or_else(|| default_reserve(space.total));
        if space.free < reserve.saturating_add(FINISH_ALLOWANCE) {
            return Err(format!(
                "not enough free space in {} for a bundle: {} free, {} must stay free \
                 (the reserve: {RESERVE_PERCENT}% of the file system or {}, whichever is less) \
                 and a minimal bundle needs {}; free some space or write elsewhere with --out",
                dir.display(),
                human(space.free),
                human(reserve),
                human(RESERVE_MAX),
                human(FINISH_ALLOWANCE),
            ));
        }
        Ok(Some(SpaceGuard {
            dir: dir.to_path_buf(),
            probe,
            reserve,
            free: space.free,
            stored: 0,
            stored_at_measure: 0,
            shortage: None,
        }))
    }

    /// The manifest note on the space there was at the start.
    pub fn start_note(&self) -> String {
        format!(
            "free space: {} free in {} at the start; {} kept free (reserve)",
            human(self.free),
            self.dir.display(),
            human(self.reserve)
        )
    }

    /// Bytes that may still be stored, by the last measurement.
    pub fn room(&self) -> u64 {
        if self.shortage.is_some() {
            return 0;
        }
        self.free
            .saturating_sub(self.reserve)
            .saturating_sub(FINISH_ALLOWANCE)
            .saturating_sub(self.stored - self.stored_at_measure)
    }

    /// Free bytes above the reserve, by the last measurement.
    pub fn headroom(&self) -> u64 {
        self.free.saturating_sub(self.reserve)
    }

    /// Bytes of `wanted` that may be stored now; measures again first when they do not fit by
    /// the last measurement.
    pub fn allow(&mut self, wanted: u64) -> u64 {
        if wanted > self.room() && self.shortage.is_none() {
            self.measure();
        }
        wanted.min(self.room())
    }

    /// Counts bytes stored; measures again every [`CHECK_EVERY`] bytes.
    pub fn stored(&mut self, bytes: u64) {
        self.stored += bytes;
        if self.stored - self.stored_at_measure >= CHECK_EVERY {
            self.measure();
        }
    }

    /// Records that `at` could not be stored whole for lack of space; from now on nothing is.
    pub fn run_short(&mut self, at: String) {
        if self.shortage.is_none() {
            self.shortage = Some(Shortage {
                free: self.free,
                stored: self.stored,
                at,
            });
        }
    }

    pub fn shortage(&self) -> Option<&Shortage> {
        self.shortage.as_ref()
    }

    /// Why nothing more is collected, once space ran out.
    pub fn stop_reason(&self) -> Option<String> {
        self.shortage.as_ref().map(|_| {
            format!(
                "not collected: output file system short of space ({} must stay free in {})",
                human(self.reserve),
                self.dir.display()
            )
        })
    }

    /// The manifest note saying where space ran out, if it did.
    pub fn shortage_note(&self) -> Option<String> {
        self.shortage.as_ref().map(|s| {
            format!(
                "free space ran short in {}: {} free with {} to stay free (reserve) after {} \
                 stored; cut at {} and nothing collected after it",
                self.dir.display(),
                human(s.free),
                human(self.reserve),
                human(s.stored),
                s.at
            )
        })
    }

    /// Measures again (a failed measurement keeps the last one).
    pub fn measure(&mut self) {
        if let Some(space) = self.probe.measure(self.stored) {
            self.free = space.free;
            self.stored_at_measure = self.stored;
        }
    }
}

/// Free and total bytes of the file system holding `dir`.
pub fn file_system_space(dir: &Path) -> Option<Space> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs writes into a zeroed struct we own, with a valid C string path.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
        if rc != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)]
        let unit = st.f_frsize as u64;
        #[allow(clippy::unnecessary_cast)]
        Some(Space {
            free: (st.f_bavail as u64).saturating_mul(unit),
            total: (st.f_blocks as u64).saturating_mul(unit),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn assumed(free: u64, reserve: u64) -> SpaceGuard {
        SpaceGuard::start(
            Path::new("/out"),
            Probe::Assumed {
                free_at_start: free,
            },
            Some(reserve),
        )
        .expect("fits")
        .expect("measured")
    }

    #[test]
    fn the_reserve_is_five_percent_capped_at_512_mib() {
        assert_eq!(default_reserve(1000 * MIB), 50 * MIB);
        assert_eq!(default_reserve(100 * 1024 * MIB), RESERVE_MAX);
    }

    #[test]
    fn refuses_to_start_without_room_for_the_reserve_and_a_minimal_bundle() {
        let err = SpaceGuard::start(
            Path::new("/out"),
            Probe::Assumed {
                free_at_start: 2 * MIB,
            },
            Some(2 * MIB),
        )
        .expect_err("too small");
        assert!(err.contains("not enough free space in /out"), "{err}");
        assert!(SpaceGuard::start(
            Path::new("/out"),
            Probe::Assumed {
                free_at_start: 3 * MIB
            },
            Some(2 * MIB)
        )
        .is_ok());
    }

    #[test]
    fn items_are_fitted_into_the_room_and_shortage_stops_everything() {
        let mut guard = assumed(10 * MIB, 4 * MIB);
        assert_eq!(guard.room(), 5 * MIB);
        assert_eq!(guard.allow(3 * MIB), 3 * MIB);
        guard.stored(3 * MIB);
        assert_eq!(guard.room(), 2 * MIB);
        assert_eq!(guard.allow(3 * MIB), 2 * MIB);
        guard.run_short("vm.log (/tmp/vm.log)".into());
        guard.stored(2 * MIB);
        assert_eq!(guard.room(), 0);
        assert!(guard.stop_reason().is_some());
        let note = guard.shortage_note().expect("note");
        assert!(note.contains("vm.log (/tmp/vm.log)"), "{note}");
        assert!(note.contains("3.0 MiB stored"), "{note}");
    }

    #[test]
    fn measures_again_every_few_mib() {
        let mut guard = assumed(100 * MIB, MIB);
        guard.stored(CHECK_EVERY);
        // The assumed file system lost what was stored: the measurement says so.
        assert_eq!(guard.free, 100 * MIB - CHECK_EVERY);
        assert_eq!(guard.room(), 98 * MIB - CHECK_EVERY);
    }

    #[test]
    fn measures_a_real_file_system() {
        let space = file_system_space(Path::new(".")).expect("statvfs");
        assert!(space.total >= space.free && space.total > 0);
    }
}
