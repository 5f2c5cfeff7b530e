//! x86-64 block classifiers: AVX2 (with a carry-less multiply for the string mask), used where
//! the CPU has it, and SSE2 (part of every x86-64 CPU), which only runs when asked for: on 16
//! bytes at a time the block validator is slower than the scalar one.
//!
//! The entry points are compiled with their target features so that the generic stages inline
//! into them with the vector instructions; [`Avx2`] can only be obtained after the CPU was
//! checked, which is what makes calling the AVX2 entry point sound.

use std::arch::x86_64::*;

use super::bits::{prefix_xor_scalar, Masks};
use super::validate_blocks;
use crate::scan::TopField;

/// Proof that the running CPU has AVX2, PCLMULQDQ and BMI1 (every CPU with AVX2 has the other
/// two, but a virtual machine may hide any of them): only [`Avx2::detect`] makes one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

impl Avx2 {
    pub fn detect() -> Option<Avx2> {
        (is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("pclmulqdq")
            && is_x86_feature_detected!("bmi1"))
        .then_some(Avx2(()))
    }

    /// Validates `line` like [`crate::scan::validate_object`], 64 bytes at a time with AVX2.
    #[inline]
    pub fn validate(self, line: &[u8], on_field: impl FnMut(TopField)) -> bool {
        // SAFETY: `self` exists only when `detect` found these features on this CPU.
        unsafe { validate_avx2(line, on_field) }
    }

    #[cfg(test)]
    pub fn classify_for_tests(self, block: &[u8; 64]) -> Masks {
        // SAFETY: `self` exists only when `detect` found AVX2 on this CPU.
        unsafe { classify_avx2(block) }
    }
}

#[cfg(test)]
pub(crate) fn classify_sse2_for_tests(block: &[u8; 64]) -> Masks {
    // SAFETY: SSE2 is part of x86-64.
    unsafe { classify_sse2(block) }
}

#[target_feature(enable = "avx2,pclmulqdq,bmi1")]
fn validate_avx2(line: &[u8], on_field: impl FnMut(TopField)) -> bool {
    validate_blocks(
        line,
        |block| classify_avx2(block),
        |bits| prefix_xor_clmul(bits),
        on_field,
    )
}

/// Validates with SSE2 vectors and a scalar prefix XOR.
pub(crate) fn validate_sse2(line: &[u8], on_field: impl FnMut(TopField)) -> bool {
    // SAFETY: SSE2 is part of x86-64: every CPU this code runs on has it.
    unsafe { validate_sse2_blocks(line, on_field) }
}

#[target_feature(enable = "sse2")]
fn validate_sse2_blocks(line: &[u8], on_field: impl FnMut(TopField)) -> bool {
    validate_blocks(
        line,
        |block| classify_sse2(block),
        prefix_xor_scalar,
        on_field,
    )
}

/// Prefix XOR as a carry-less multiply by all ones: bit `i` of the product is the XOR of bits
/// `0..=i` of `bits`.
#[target_feature(enable = "pclmulqdq")]
#[inline]
fn prefix_xor_clmul(bits: u64) -> u64 {
    let product = _mm_clmulepi64_si128::<0>(_mm_set_epi64x(0, bits as i64), _mm_set1_epi8(-1));
    _mm_cvtsi128_si64(product) as u64
}

/// For a byte `c` below 0x80, entry `c & 15` of this table equals `c` exactly when `c` is JSON
/// whitespace; other entries hold `i + 1`, which no byte with low nibble `i` equals. Bytes from
/// 0x80 look up 0 and never match either.
const WHITESPACE_TABLE: [i8; 16] = [
    0x20, 2, 3, 4, 5, 6, 7, 8, 9, 0x09, 0x0a, 12, 13, 0x0d, 15, 16,
];

/// For a byte `c` below 0x80, entry `c & 15` equals `c | 0x20` when `c` is `: { , }` or (with
/// 0x20 set) `[ ]`. 0x0c and 0x1a match too; they are control bytes, errors in any case.
const OPERATOR_TABLE: [i8; 16] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b':' as i8, b'{' as i8, b',' as i8, b'}' as i8, 0, 0,
];

/// The class masks of a block, 32 bytes per vector.
#[target_feature(enable = "avx2")]
#[inline]
fn classify_avx2(block: &[u8; 64]) -> Masks {
    // SAFETY: both 32-byte loads lie inside the 64-byte array; `loadu` needs no alignment.
    let (low, high) = unsafe {
        (
            _mm256_loadu_si256(block.as_ptr().cast()),
            _mm256_loadu_si256(block.as_ptr().add(32).cast()),
        )
    };
    let join = |low: __m256i, high: __m256i| {
        let low = _mm256_movemask_epi8(low) as u32;
        let high = _mm256_movemask_epi8(high) as u32;
        u64::from(low) | u64::from(high) << 32
    };
    // Backslashes and control bytes are rare in log lines: one test spares both masks.
    let backslash = |v| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
    let control = |v| _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
    let (backslash, control) = (
        [backslash(low), backslash(high)],
        [control(low), control(high)],
    );
    let rare = _mm256_or_si256(
        _mm256_or_si256(backslash[0], backslash[1]),
        _mm256_or_si256(control[0], control[1]),
    );
    let (backslash, control) = if _mm256_testz_si256(rare, rare) == 1 {
        (0, 0)
    } else {
        (
            join(backslash[0], backslash[1]),
            join(control[0], control[1]),
        )
    };
    let (low, high) = (classify_avx2_half(low), classify_avx2_half(high));
    let join = |i: usize| u64::from(low[i]) | u64::from(high[i]) << 32;
    Masks {
        quote: join(0),
        backslash,
        whitespace: join(1),
        operator: join(2),
        control,
        digit: join(3),
        zero: join(4),
        bit6: join(5),
        bit5: join(6),
        bit1: join(7),
    }
}

/// The class masks of 32 bytes but backslashes and control bytes, in the order of the fields
/// of [`Masks`].
#[target_feature(enable = "avx2")]
#[inline]
fn classify_avx2_half(v: __m256i) -> [u32; 8] {
    let table = |t: [i8; 16]| {
        _mm256_setr_epi8(
            t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13],
            t[14], t[15], t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11],
            t[12], t[13], t[14], t[15],
        )
    };
    let bits = |m: __m256i| _mm256_movemask_epi8(m) as u32;
    let curled = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    let from_zero = _mm256_sub_epi8(v, _mm256_set1_epi8(b'0' as i8));
    [
        bits(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8))),
        bits(_mm256_cmpeq_epi8(
            v,
            _mm256_shuffle_epi8(table(WHITESPACE_TABLE), v),
        )),
        bits(_mm256_cmpeq_epi8(
            curled,
            _mm256_shuffle_epi8(table(OPERATOR_TABLE), v),
        )),
        bits(_mm256_cmpeq_epi8(
            _mm256_min_epu8(from_zero, _mm256_set1_epi8(9)),
            from_zero,
        )),
        bits(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'0' as i8))),
        // Shifting 16-bit lanes moves each byte's own bit into its top bit.
        bits(_mm256_slli_epi16::<1>(v)),
        bits(_mm256_slli_epi16::<2>(v)),
        bits(_mm256_slli_epi16::<6>(v)),
    ]
}

/// The class masks of a block, 16 bytes per vector.
#[target_feature(enable = "sse2")]
#[inline]
fn classify_sse2(block: &[u8; 64]) -> Masks {
    // SAFETY: the four 16-byte loads lie inside the 64-byte array; `loadu` needs no alignment.
    let quarters: [__m128i; 4] =
        std::array::from_fn(|i| unsafe { _mm_loadu_si128(block.as_ptr().add(16 * i).cast()) });
    let mut masks = [0u64; 10];
    for (i, quarter) in quarters.into_iter().enumerate() {
        for (mask, bits) in masks.iter_mut().zip(classify_sse2_quarter(quarter)) {
            *mask |= u64::from(bits) << (16 * i);
        }
    }
    let [quote, backslash, whitespace, operator, control, digit, zero, bit6, bit5, bit1] = masks;
    Masks {
        quote,
        backslash,
        whitespace,
        operator,
        control,
        digit,
        zero,
        bit6,
        bit5,
        bit1,
    }
}

/// The class masks of 16 bytes, in the order of the fields of [`Masks`].
#[target_feature(enable = "sse2")]
#[inline]
fn classify_sse2_quarter(v: __m128i) -> [u16; 10] {
    let eq = |v: __m128i, c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
    let bits = |m: __m128i| _mm_movemask_epi8(m) as u16;
    // `[ ]` become `{ }` with bit 0x20 set.
    let curled = _mm_or_si128(v, _mm_set1_epi8(0x20));
    let from_zero = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
    [
        bits(eq(v, b'"')),
        bits(eq(v, b'\\')),
        bits(_mm_or_si128(
            _mm_or_si128(eq(v, b' '), eq(v, b'\t')),
            _mm_or_si128(eq(v, b'\n'), eq(v, b'\r')),
        )),
        bits(_mm_or_si128(
            _mm_or_si128(eq(curled, b'{'), eq(curled, b'}')),
            _mm_or_si128(eq(v, b':'), eq(v, b',')),
        )),
        bits(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v)),
        bits(_mm_cmpeq_epi8(
            _mm_min_epu8(from_zero, _mm_set1_epi8(9)),
            from_zero,
        )),
        bits(eq(v, b'0')),
        // Shifting 16-bit lanes moves each byte's own bit into its top bit.
        bits(_mm_slli_epi16::<1>(v)),
        bits(_mm_slli_epi16::<2>(v)),
        bits(_mm_slli_epi16::<6>(v)),
    ]
}
