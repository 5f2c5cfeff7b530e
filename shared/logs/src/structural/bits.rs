//! Stage one of the block validator: from a 64-byte block's byte classes (one bit per byte) to
//! its tokens — strings, whitespace, operators, literals and numbers — carrying string, escape
//! and literal state across blocks, and checking what can be checked byte by byte: control
//! bytes, escapes, and that each run of literal/number bytes is one literal or number.
//!
//! Everything here is plain integer arithmetic on 64-bit masks (bit `i` is byte `i` of the
//! block); only the classification of the bytes and the prefix XOR depend on the CPU.

use crate::scan::{literal_end, number_end};

/// One bit per byte of a 64-byte block for each class the validator tells apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// `"`
    pub quote: u64,
    /// `\`
    pub backslash: u64,
    /// The only whitespace `JSON.parse` accepts: space, tab, LF, CR.
    pub whitespace: u64,
    /// `{ } [ ] : ,`, plus possibly some control bytes (which are errors anyway).
    pub operator: u64,
    /// Bytes below 0x20.
    pub control: u64,
    /// `0` to `9`.
    pub digit: u64,
    /// `0` (a number may not start with it unless it is all of its integer part).
    pub zero: u64,
    /// Bits 0x40, 0x20 and 0x02 of each byte: among operators they tell brackets (0x40) from
    /// `:` and `,`, curly brackets (0x20) from square ones, and opening brackets and `:` (0x02)
    /// from closing brackets and `,`.
    pub bit6: u64,
    pub bit5: u64,
    pub bit1: u64,
}

impl Masks {
    /// Classifies a block one byte at a time: the reference the vector classifiers must agree
    /// with, and the classifier the tests use to check the bit logic on any CPU.
    #[cfg(test)]
    pub fn of_bytes(block: &[u8; 64]) -> Masks {
        let mut masks = Masks::default();
        for (i, &c) in block.iter().enumerate() {
            let bit = 1u64 << i;
            let set = |mask: &mut u64, yes: bool| {
                if yes {
                    *mask |= bit;
                }
            };
            set(&mut masks.quote, c == b'"');
            set(&mut masks.backslash, c == b'\\');
            set(
                &mut masks.whitespace,
                matches!(c, b' ' | b'\t' | b'\n' | b'\r'),
            );
            set(
                &mut masks.operator,
                matches!(c, b'{' | b'}' | b'[' | b']' | b':' | b','),
            );
            set(&mut masks.control, c < 0x20);
            set(&mut masks.digit, c.is_ascii_digit());
            set(&mut masks.zero, c == b'0');
            set(&mut masks.bit6, c & 0x40 != 0);
            set(&mut masks.bit5, c & 0x20 != 0);
            set(&mut masks.bit1, c & 0x02 != 0);
        }
        masks
    }
}

/// Bits set at every odd position.
const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// Prefix XOR without special instructions: bit `i` of the result is the XOR of bits `0..=i`.
#[inline(always)]
pub(crate) fn prefix_xor_scalar(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// The tokens of one block, outside strings unless said otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tokens {
    /// Opening quotes.
    pub string_start: u64,
    /// Closing quotes.
    pub string_end: u64,
    /// From each opening quote up to (not including) its closing quote.
    pub in_string: u64,
    /// Backslashes (in strings, unless the line is not JSON).
    pub backslash: u64,
    pub whitespace: u64,
    pub open_object: u64,
    pub open_array: u64,
    pub close_object: u64,
    pub close_array: u64,
    pub colon: u64,
    pub comma: u64,
    /// First byte of each literal or number.
    pub atom_start: u64,
    /// The byte just after each literal or number (for one ending the block before, bit 0).
    pub after_atom: u64,
}

/// State carried from one block to the next, and the errors found so far.
#[derive(Debug, Default)]
pub(crate) struct Stage1 {
    /// 1 when the first byte of the next block is escaped by a backslash at the end of this one.
    next_escaped: u64,
    /// All ones while a string is open at the end of the block.
    in_string: u64,
    /// 1 when the block ended inside a run of literal/number bytes.
    in_atom: u64,
    /// 1 when the block's last byte is a `0` that starts a run.
    zero_started: u64,
    /// Literals and numbers before this position have been checked.
    atoms_checked_until: usize,
    /// Any bit set: the line is not JSON.
    pub error: u64,
}

impl Stage1 {
    /// Whether the input ended inside a string.
    pub fn string_open(&self) -> bool {
        self.in_string != 0
    }

    /// The tokens of one block. Control bytes outside whitespace, bad escapes and runs that
    /// are not a literal or number are recorded in `error`; `block` and `line`/`base` give the
    /// bytes, for the rarer checks done one at a time.
    #[inline(always)]
    pub fn tokens(
        &mut self,
        masks: Masks,
        prefix_xor: impl Fn(u64) -> u64,
        block: &[u8; 64],
        line: &[u8],
        base: usize,
    ) -> Tokens {
        let escaped = if masks.backslash | self.next_escaped == 0 {
            0
        } else {
            let escaped = self.escaped(masks.backslash);
            self.error |= bad_escapes(escaped, block, line, base);
            escaped
        };
        let quotes = masks.quote & !escaped;
        let in_string = prefix_xor(quotes) ^ self.in_string;
        self.in_string = ((in_string as i64) >> 63) as u64;
        let whitespace = masks.whitespace & !in_string;
        self.error |= masks.control & !whitespace;
        let atom = !(masks.whitespace | masks.operator | quotes | in_string);
        let after_atom_run = (atom << 1) | self.in_atom;
        let atom_start = atom & !after_atom_run;
        self.in_atom = atom >> 63;
        // A run of digits not starting with 0 (or just `0`) is a valid number: the common case
        // (pids, levels, ports, epoch times). Any other run gets the full check.
        let zero_start = atom_start & masks.zero;
        let unusual = (atom & !masks.digit) | (((zero_start << 1) | self.zero_started) & atom);
        self.zero_started = zero_start >> 63;
        if unusual != 0 {
            self.check_atoms(unusual, line, base);
        }
        let operator = masks.operator & !in_string;
        let bracket = operator & masks.bit6;
        let (open, close) = (bracket & masks.bit1, bracket & !masks.bit1);
        let punctuation = operator & !masks.bit6;
        Tokens {
            string_start: quotes & in_string,
            string_end: quotes & !in_string,
            in_string,
            backslash: masks.backslash,
            whitespace,
            open_object: open & masks.bit5,
            open_array: open & !masks.bit5,
            close_object: close & masks.bit5,
            close_array: close & !masks.bit5,
            colon: punctuation & masks.bit1,
            comma: punctuation & !masks.bit1,
            atom_start,
            after_atom: after_atom_run & !atom,
        }
    }

    /// Checks each run of literal/number bytes that holds a bit of `unusual` (positions in the
    /// block at `base`) with the scalar grammar: it must be exactly one literal or number.
    #[inline(never)]
    fn check_atoms(&mut self, mut unusual: u64, line: &[u8], base: usize) {
        while unusual != 0 {
            let pos = base + unusual.trailing_zeros() as usize;
            if pos >= self.atoms_checked_until {
                let mut start = pos;
                while start > 0 && is_atom_byte(line[start - 1]) {
                    start -= 1;
                }
                match atom_end(line, start) {
                    Some(end) => self.atoms_checked_until = end,
                    None => {
                        self.error = 1;
                        return;
                    }
                }
            }
            // The rest of the run just checked needs no second look.
            let checked = self.atoms_checked_until.saturating_sub(base).min(63);
            unusual &= (!0 << checked) & !(1 << (pos - base));
        }
    }

    /// The bytes that follow an odd run of backslashes (the escaped characters), carrying a run
    /// that ends the block into the next one. Runs are told apart by the parity of the position
    /// they start at: adding the backslash mask to the run starts on odd positions carries
    /// through each run, flipping the parity pattern exactly for the runs of odd length.
    #[inline(always)]
    fn escaped(&mut self, backslash: u64) -> u64 {
        // A backslash escaped by the previous block escapes nothing itself.
        let escapes = backslash & !self.next_escaped;
        let maybe_escaped = escapes << 1;
        let codes = (maybe_escaped | ODD_BITS).wrapping_sub(escapes) ^ ODD_BITS;
        let escaped = codes ^ (backslash | self.next_escaped);
        let escape = codes & backslash;
        self.next_escaped = escape >> 63;
        escaped
    }
}

/// Whether `c` belongs to a run of literal/number bytes (outside strings): anything but
/// whitespace, quotes and `{ } [ ] : ,`.
fn is_atom_byte(c: u8) -> bool {
    !matches!(
        c,
        b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'{' | b'}' | b'[' | b']' | b':' | b','
    )
}

/// The end of the literal or number starting at `pos`, when one starts there and fills its
/// whole run of bytes (`01`, `truex`, `1.5.2` fill their run only partly).
fn atom_end(line: &[u8], pos: usize) -> Option<usize> {
    let end = match line.get(pos)? {
        b't' => literal_end(line, pos, b"true"),
        b'f' => literal_end(line, pos, b"false"),
        b'n' => literal_end(line, pos, b"null"),
        b'-' | b'0'..=b'9' => number_end(line, pos),
        _ => None,
    }?;
    line.get(end)
        .is_none_or(|&c| !is_atom_byte(c))
        .then_some(end)
}

/// Non-zero when an escaped byte is not one `JSON.parse` accepts (`" \ / b f n r t`, or `u`
/// followed by four hex digits). Escapes are rare in log lines: this walks them one by one.
#[inline(always)]
fn bad_escapes(mut escaped: u64, block: &[u8; 64], line: &[u8], base: usize) -> u64 {
    while escaped != 0 {
        let i = escaped.trailing_zeros() as usize;
        escaped &= escaped - 1;
        let ok = match block[i & 63] {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => true,
            b'u' => {
                let at = base + i + 1;
                line.get(at..at + 4)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            }
            _ => false,
        };
        if !ok {
            return 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escaped positions the slow way: a backslash escapes the next byte unless escaped itself.
    fn escaped_reference(bytes: &[u8]) -> Vec<bool> {
        let mut escaped = vec![false; bytes.len()];
        let mut pending = false;
        for (i, &c) in bytes.iter().enumerate() {
            if pending {
                escaped[i] = true;
                pending = false;
            } else if c == b'\\' {
                pending = true;
            }
        }
        escaped
    }

    #[test]
    fn escapes_follow_backslash_runs_across_blocks() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..2000 {
            let len = 64 * (1 + round % 4);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    if seed.is_multiple_of(3) {
                        b'a'
                    } else {
                        b'\\'
                    }
                })
                .collect();
            let want = escaped_reference(&bytes);
            let mut stage = Stage1::default();
            for (k, block) in bytes.chunks(64).enumerate() {
                let block: &[u8; 64] = block.try_into().unwrap();
                let got = stage.escaped(Masks::of_bytes(block).backslash);
                for i in 0..64 {
                    assert_eq!(
                        got >> i & 1 == 1,
                        want[k * 64 + i],
                        "byte {} of {:?}",
                        k * 64 + i,
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }
    }

    #[test]
    fn prefix_xor_marks_the_inside_of_quote_pairs() {
        assert_eq!(prefix_xor_scalar(0b1001), 0b0111);
        assert_eq!(prefix_xor_scalar(1 << 63), 1 << 63);
        assert_eq!(prefix_xor_scalar(1), u64::MAX);
    }
}
