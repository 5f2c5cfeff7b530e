//! The limits on nested reading and the decompressor wrapper that enforces them.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;

/// A member inflating to less than this is never stopped by the ratio limit: small files of
/// repeated lines legitimately compress very well.
pub(crate) const RATIO_EXEMPT_BYTES: u64 = 1024 * 1024;

/// Limits on reading archives inside archives (see [`crate::Bundle::set_nested`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedLimits {
    /// Archives opened inside one another, at most: 1 opens the input's members but not their
    /// members. A deeper archive is delivered as it is, with a warning.
    pub max_depth: u32,
    /// Bytes inflated from nested members, all of them together, at most.
    pub max_inflated_bytes: u64,
    /// How many times its own size one nested member may inflate to (members inflating to less
    /// than 1 MiB are exempt).
    pub max_ratio: u64,
}

impl Default for NestedLimits {
    /// Depth 3, 16 GiB inflated in total, ratio 250 (gzip cannot exceed about 1030, so a bomb of
    /// repeated bytes is caught, while real logs compress 5 to 30 times).
    fn default() -> Self {
        NestedLimits {
            max_depth: 3,
            max_inflated_bytes: 16 * 1024 * 1024 * 1024,
            max_ratio: 250,
        }
    }
}

/// The state of nested reading during one pass over the input.
pub(crate) struct Nesting {
    pub(super) limits: NestedLimits,
    pub(super) budget: Rc<Budget>,
    /// Whether the "budget spent" warning was given (it is given once).
    pub(super) told_spent: bool,
}

impl Nesting {
    pub(crate) fn new(limits: NestedLimits) -> Self {
        Nesting {
            limits,
            budget: Rc::new(Budget {
                max_total: limits.max_inflated_bytes,
                used: Cell::new(0),
                hit: RefCell::new(None),
            }),
            told_spent: false,
        }
    }
}

/// Inflated bytes shared by every nested decompressor, and the limit that stopped one.
pub(super) struct Budget {
    max_total: u64,
    pub(super) used: Cell<u64>,
    pub(super) hit: RefCell<Option<LimitHit>>,
}

pub(super) struct LimitHit {
    pub(super) member: String,
    pub(super) text: String,
}

impl Budget {
    pub(super) fn spent(&self) -> bool {
        self.used.get() >= self.max_total
    }
}

/// Counts what a nested member's decompressor produces and fails once a limit is passed.
pub(super) struct Inflating<R> {
    inner: R,
    member: String,
    member_size: u64,
    max_ratio: u64,
    produced: u64,
    cap: u64,
    budget: Rc<Budget>,
}

impl<R> Inflating<R> {
    pub(super) fn new(
        inner: R,
        member: &str,
        member_size: u64,
        max_ratio: u64,
        budget: Rc<Budget>,
    ) -> Self {
        Inflating {
            inner,
            member: member.to_string(),
            member_size,
            max_ratio,
            produced: 0,
            cap: member_size
                .saturating_mul(max_ratio)
                .max(RATIO_EXEMPT_BYTES),
            budget,
        }
    }

    fn stop(&self, text: String) -> io::Error {
        *self.budget.hit.borrow_mut() = Some(LimitHit {
            member: self.member.clone(),
            text: text.clone(),
        });
        io::Error::other(text)
    }
}

impl<R: Read> Read for Inflating<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let used = self.budget.used.get() + n as u64;
        self.budget.used.set(used);
        if self.produced > self.cap {
            return Err(self.stop(format!(
                "stopped after inflating {} bytes: it inflates to more than {} times its {} \
                 bytes (a decompression bomb?)",
                self.cap, self.max_ratio, self.member_size
            )));
        }
        if used > self.budget.max_total {
            return Err(self.stop(format!(
                "stopped: the {} bytes allowed for inflating nested archives are spent",
                self.budget.max_total
            )));
        }
        Ok(n)
    }
}
