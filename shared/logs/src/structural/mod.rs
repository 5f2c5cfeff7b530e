//! JSON validation a 64-byte block at a time, in the style of simdjson.
//!
//! Most of a log line is string content, and the scalar validator ([`crate::scan`]) spends its
//! time deciding, byte by byte, where strings end. Here vector instructions classify a whole
//! block at once (quotes, backslashes, whitespace, `{}[]:,`, digits, control bytes); integer
//! arithmetic on the resulting 64-bit masks finds the escaped bytes, the strings and the other
//! tokens ([`bits`]) and checks the grammar, walking only the brackets ([`grammar`]).
//!
//! The semantics are those of the scalar validator, which is the reference: the tests compare
//! the two on generated and mutated lines, and lines this validator does not follow (a
//! top-level value that is not an object or array, nesting deeper than 64, lines of 4 GiB or
//! more) go to it.

mod bits;
mod grammar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

use crate::scan::{validate_scalar, TopField};
use bits::{Masks, Stage1};
use grammar::{Checked, Grammar};

/// Validates `line` with the given block classifier and prefix XOR, reporting top-level members
/// like [`crate::scan::validate_object`]. Inlined into each CPU-specific entry point so the
/// classifier's instructions are compiled with that CPU's features.
#[inline(always)]
fn validate_blocks(
    line: &[u8],
    classify: impl Fn(&[u8; 64]) -> Masks,
    prefix_xor: impl Fn(u64) -> u64 + Copy,
    mut on_field: impl FnMut(TopField),
) -> bool {
    let first = line
        .iter()
        .find(|&&c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
    let top_object = match first {
        _ if u32::try_from(line.len()).is_err() => return validate_scalar(line, on_field),
        Some(b'{') => true,
        Some(b'[') => false,
        _ => return validate_scalar(line, on_field),
    };
    let mut stage1 = Stage1::default();
    let mut grammar = Grammar::new(line, top_object, &mut on_field);
    let (blocks, tail) = line.as_chunks::<64>();
    let mut padded = [b' '; 64];
    // Spaces are whitespace outside strings and plain content inside: padding the last block
    // with them adds no token and hides no error.
    padded[..tail.len()].copy_from_slice(tail);
    let last = (!tail.is_empty()).then_some(&padded);
    let mut checked = Checked::Ok;
    for (k, block) in blocks.iter().chain(last).enumerate() {
        let base = k * 64;
        let tokens = stage1.tokens(classify(block), prefix_xor, block, line, base);
        if stage1.error != 0 {
            return false;
        }
        checked = grammar.check(&tokens, prefix_xor, base);
        if checked != Checked::Ok {
            break;
        }
    }
    match checked {
        Checked::Ok => !stage1.string_open() && grammar.finish(),
        Checked::NotJson => false,
        Checked::TooDeep => {
            // Rare: let the scalar validator decide, without reporting again the members
            // already reported.
            let mut skip = grammar.reported;
            validate_scalar(line, |field| match skip {
                0 => on_field(field),
                _ => skip -= 1,
            })
        }
    }
}

/// The block validator with a byte-at-a-time classifier: slow, but runs the same stage one and
/// two on any CPU, so the tests check the mask logic everywhere.
#[cfg(test)]
pub(crate) fn validate_portable(line: &[u8], on_field: impl FnMut(TopField)) -> bool {
    validate_blocks(line, Masks::of_bytes, bits::prefix_xor_scalar, on_field)
}

#[cfg(test)]
mod tests;
