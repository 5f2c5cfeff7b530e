//! Seeded randomness. Every uuid, time offset and size in a simulated datacenter comes from
//! here, so the same seed always produces a byte-identical tree.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A ChaCha random stream. Independent streams are derived per purpose (`fork`) so that adding
/// noise to one part of a scenario does not shift the uuids of another part.
pub struct SimRng {
    /// The seed material of this stream; forks derive theirs from it.
    base: u64,
    inner: ChaCha8Rng,
}

/// FNV-1a, used only to turn a stream label into a seed component (stable across releases,
/// unlike `std`'s hasher).
fn fnv1a(label: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

impl SimRng {
    pub fn new(seed: u64, label: &str) -> SimRng {
        let base = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ fnv1a(label);
        SimRng {
            base,
            inner: ChaCha8Rng::seed_from_u64(base),
        }
    }

    /// A new independent stream for one purpose, derived from this stream's seed material (not
    /// from how much of this stream has been used).
    pub fn fork(&self, label: &str) -> SimRng {
        let base = self
            .base
            .rotate_left(17)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ fnv1a(label);
        SimRng {
            base,
            inner: ChaCha8Rng::seed_from_u64(base),
        }
    }

    pub fn u64(&mut self) -> u64 {
        self.inner.random()
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        self.inner.random_range(lo..hi)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        self.inner.random_range(0..n)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.inner.random_bool(p.clamp(0.0, 1.0))
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A random (version 4) uuid, as node's libuuid and Triton's services generate them.
    pub fn uuid(&mut self) -> String {
        let a = self.u64();
        let b = self.u64();
        let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// A time-based (version 1) uuid, the form restify and the older services use for
    /// request ids (`bf4d8930-6832-11e3-9e6c-91d56d6d04e1`).
    pub fn uuid_v1(&mut self) -> String {
        let a = self.u64();
        let b = self.u64();
        format!(
            "{:08x}-{:04x}-11{:02x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// A server uuid in the SMBIOS form Dell hardware reports (`44454c4c-...`).
    pub fn server_uuid(&mut self) -> String {
        let a = self.u64();
        let b = self.u64();
        format!(
            "44454c4c-{:04x}-10{:02x}-80{:02x}-{:012x}",
            (a >> 16) & 0xffff,
            a & 0xff,
            (a >> 40) & 0xff,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.u64()));
        }
        out.truncate(len);
        out
    }

    /// A hardware serial number, the usual hostname of a compute node.
    pub fn serial(&mut self) -> String {
        const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        (0..7)
            .map(|_| CHARS[self.below(CHARS.len())] as char)
            .collect()
    }

    pub fn pid(&mut self) -> u32 {
        self.range(1000, 99_000) as u32
    }

    pub fn mac(&mut self) -> String {
        let v = self.u64();
        format!(
            "90:b8:d0:{:02x}:{:02x}:{:02x}",
            (v >> 16) & 0xff,
            (v >> 8) & 0xff,
            v & 0xff
        )
    }
}
