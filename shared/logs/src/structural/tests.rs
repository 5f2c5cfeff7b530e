//! The block validators against the scalar one, the reference: same verdict and, for valid
//! lines, the same top-level members, on generated JSON lines and on mutations of them.

use super::bits::Masks;
use super::validate_portable;
use crate::scan::{validate_scalar, TopField, MAX_DEPTH};

/// A small deterministic generator (xorshift64*), so failures can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

type Outcome = (bool, Vec<TopField>);

/// A validator under test, by name.
type Named<T> = (&'static str, Box<dyn Fn(&[u8]) -> T>);

fn run(validate: impl Fn(&[u8], &mut dyn FnMut(TopField)) -> bool, line: &[u8]) -> Outcome {
    let mut fields = Vec::new();
    let valid = validate(line, &mut |field| fields.push(field));
    if !valid {
        // Members seen before an error are not part of the contract.
        fields.clear();
    }
    (valid, fields)
}

/// Every block validator this CPU can run, by name.
fn block_validators() -> Vec<Named<Outcome>> {
    let mut validators: Vec<Named<Outcome>> = vec![(
        "portable",
        Box::new(|line: &[u8]| run(|l, f| validate_portable(l, f), line)),
    )];
    #[cfg(target_arch = "x86_64")]
    {
        validators.push((
            "sse2",
            Box::new(|line: &[u8]| run(|l, f| super::x86::validate_sse2(l, f), line)),
        ));
        if let Some(avx2) = super::x86::Avx2::detect() {
            validators.push((
                "avx2",
                Box::new(move |line: &[u8]| run(|l, f| avx2.validate(l, f), line)),
            ));
        } else {
            println!("this CPU has no AVX2: the AVX2 validator is not tested here");
        }
    }
    validators
}

/// Checks every block validator against the scalar one on `line`; returns the verdict.
fn agree(line: &[u8], validators: &[Named<Outcome>]) -> bool {
    let want = run(|l, f| validate_scalar(l, f), line);
    for (name, validate) in validators {
        let got = validate(line);
        assert_eq!(
            got,
            want,
            "{name} disagrees with the scalar validator on {:?}",
            String::from_utf8_lossy(line)
        );
    }
    want.0
}

const SPACES: [&[u8]; 7] = [b"", b"", b"", b" ", b"\t", b"\r\n", b"  \n "];

fn whitespace(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(rng.pick(&SPACES));
}

fn string(rng: &mut Rng, out: &mut Vec<u8>) {
    const PIECES: [&[u8]; 24] = [
        b"a",
        b"vmapi",
        b"b8b7a2c4-6d3e-4d6f-9a55-2f0c4a8e1d21",
        b" ",
        b"{",
        b"}",
        b"[]",
        b":",
        b",",
        b"\\\"",
        b"\\\\",
        b"\\n",
        b"\\/",
        b"\\u00e9",
        b"\\ud800",
        b"\\uDFFF",
        b"\\\\\\\\\\\\",
        b"\\\\\\\"",
        "é".as_bytes(),
        "\u{2028}".as_bytes(),
        b"\xff\xfe",
        b"\xe2\x82",
        b"    at Object.<anonymous> (/opt/smartdc/vmapi/lib/x.js:12:3)",
        b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
    ];
    out.push(b'"');
    for _ in 0..rng.below(12) {
        out.extend_from_slice(rng.pick(&PIECES));
    }
    out.push(b'"');
}

fn value(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    const ATOMS: [&[u8]; 16] = [
        b"0",
        b"-0",
        b"1",
        b"30",
        b"-12.5",
        b"1e999",
        b"-1.5E+3",
        b"2e-7",
        b"1715385599975",
        b"123456789012345678901234567890",
        b"0.0001",
        b"true",
        b"false",
        b"null",
        b"9",
        b"-0.0e0",
    ];
    match rng.below(if depth > 4 { 3 } else { 6 }) {
        0 | 1 => string(rng, out),
        2 => out.extend_from_slice(rng.pick(&ATOMS)),
        3 | 4 => object(rng, depth + 1, out),
        _ => {
            out.push(b'[');
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push(b',');
                }
                whitespace(rng, out);
                value(rng, depth + 1, out);
                whitespace(rng, out);
            }
            out.push(b']');
        }
    }
}

fn object(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    const KEYS: [&[u8]; 12] = [
        b"\"level\"",
        b"\"time\"",
        b"\"msg\"",
        b"\"v\"",
        b"\"name\"",
        b"\"req_id\"",
        b"\"\\u0076\"",
        b"\"le\\u0076el\"",
        b"\"\"",
        b"\"x-request-id\"",
        b"\"a\\\"b\"",
        b"\"\\\\\"",
    ];
    out.push(b'{');
    whitespace(rng, out);
    for i in 0..rng.below(if depth > 3 { 3 } else { 9 }) {
        if i > 0 {
            out.push(b',');
            whitespace(rng, out);
        }
        if rng.below(3) == 0 {
            string(rng, out);
        } else {
            out.extend_from_slice(rng.pick(&KEYS));
        }
        whitespace(rng, out);
        out.push(b':');
        whitespace(rng, out);
        value(rng, depth, out);
        whitespace(rng, out);
    }
    out.push(b'}');
}

/// Bytes that matter to the grammar or to the vector classification.
const INTERESTING: [u8; 28] = [
    b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', b' ', b'\t', b'\n', b'\r', 0x00, 0x0c, 0x1a,
    0x1f, b'u', b'0', b'1', b'-', b'+', b'e', b'.', b't', b'n', 0x7f, 0x80, 0xff,
];

fn mutate(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    for _ in 0..1 + rng.below(2) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if at < out.len() => out[at] = rng.pick(&INTERESTING),
            1 if at < out.len() => {
                out.remove(at);
            }
            2 => out.insert(at, rng.pick(&INTERESTING)),
            3 => out.truncate(at),
            4 => {
                let end = (at + rng.below(80)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => out.insert(at, rng.below(256) as u8),
        }
    }
    out
}

#[test]
fn block_and_scalar_validators_agree_on_generated_and_mutated_lines() {
    let validators = block_validators();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let (mut valid, mut invalid) = (0usize, 0usize);
    for round in 0..2500 {
        let mut line = Vec::new();
        // Shift the line against the 64-byte blocks.
        line.extend(std::iter::repeat_n(b' ', round % 67));
        if round % 5 == 0 {
            value(&mut rng, 0, &mut line);
        } else {
            object(&mut rng, 0, &mut line);
        }
        whitespace(&mut rng, &mut line);
        let verdict = agree(&line, &validators);
        assert!(verdict, "{:?}", String::from_utf8_lossy(&line));
        for _ in 0..12 {
            let mutant = mutate(&mut rng, &line);
            if agree(&mutant, &validators) {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
    }
    // The mutations must exercise both verdicts, or the comparison proves little.
    assert!(
        valid > 2000 && invalid > 10000,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn block_and_scalar_validators_agree_at_every_block_offset() {
    let validators = block_validators();
    let record = br#"{"name":"vmapi","level":50,"msg":"a \"quoted\" \\ path\n\u00e9","err":{"stack":"x\\\\"},"time":"2024-05-11T00:00:00.000Z","v":0}"#;
    for pad in 0..130 {
        let mut line = vec![b' '; pad];
        line.extend_from_slice(record);
        assert!(agree(&line, &validators));
        // Every prefix and every one-byte change, at this alignment.
        for cut in pad..line.len() {
            agree(&line[..cut], &validators);
            for &byte in &INTERESTING {
                let mut changed = line.clone();
                changed[cut] = byte;
                agree(&changed, &validators);
            }
        }
    }
}

#[test]
fn block_validators_follow_the_depth_limit() {
    let validators = block_validators();
    let nested = |open: &str, close: &str, n: usize, inner: &str| {
        format!("{}{inner}{}", open.repeat(n), close.repeat(n))
    };
    for n in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2] {
        for line in [
            nested("[", "]", n, ""),
            nested("[", "]", n, "1"),
            nested("{\"a\":", "}", n, "{}"),
            nested("{\"a\":", "}", n, "[0]"),
        ] {
            agree(line.as_bytes(), &validators);
        }
    }
    assert!(agree(
        nested("[", "]", MAX_DEPTH + 1, "").as_bytes(),
        &validators
    ));
    assert!(!agree(
        nested("[", "]", MAX_DEPTH + 2, "").as_bytes(),
        &validators
    ));
}

/// Lines with more members than the block validator keeps notes for at once, with values
/// nested deeper than it follows (handed to the scalar validator midway), and mutations.
#[test]
fn block_validators_agree_on_many_members_and_deep_values() {
    let validators = block_validators();
    let mut rng = Rng(7);
    for (members, deep) in [
        (10, 0),
        (150, 0),
        (150, 63),
        (150, 64),
        (150, 70),
        (400, 65),
    ] {
        let mut line = String::from("{");
        for i in 0..members {
            if i > 0 {
                line.push_str(if i % 7 == 0 { " , " } else { "," });
            }
            match i % 5 {
                0 => line.push_str(&format!("\"k{i}\":{i}")),
                1 => line.push_str(&format!("\"k\\u0030{i}\" : \"v{i}\"")),
                2 => line.push_str(&format!("\"k{i}\":[1,{{\"a\":\"b\"}}]")),
                3 if i == members / 2 / 5 * 5 + 3 && deep > 0 => line.push_str(&format!(
                    "\"deep\":{}1{}",
                    "[".repeat(deep),
                    "]".repeat(deep)
                )),
                _ => line.push_str(&format!("\"k{i}\":{{\"x\":null}}")),
            }
        }
        line.push('}');
        let fields = run(|l, f| validate_scalar(l, f), line.as_bytes()).1;
        assert!(agree(line.as_bytes(), &validators));
        assert_eq!(fields.len(), members);
        assert_eq!(line.contains("\"deep\""), deep > 0);
        for _ in 0..300 {
            agree(&mutate(&mut rng, line.as_bytes()), &validators);
        }
    }
}

#[test]
fn vector_classifiers_agree_with_the_byte_classifier() {
    let mut rng = Rng(42);
    for round in 0..2000 {
        let block: [u8; 64] = std::array::from_fn(|i| {
            if round < 4 {
                (round * 64 + i) as u8
            } else {
                rng.next() as u8
            }
        });
        let want = Masks::of_bytes(&block);
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(super::x86::classify_sse2_for_tests(&block), want);
            if let Some(avx2) = super::x86::Avx2::detect() {
                let mut got = avx2.classify_for_tests(&block);
                // Two control bytes look like operators to the table lookup; they are errors
                // whatever their class.
                got.operator &= !want.control;
                assert_eq!(got, want, "{block:?}");
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = want;
    }
}

/// Times each validator over the lines of the file named by `TRITON_LOGS_BENCH_FILE` (run
/// with `--release --ignored --nocapture`; `TRITON_LOGS_BENCH_ONLY=avx2` and
/// `TRITON_LOGS_BENCH_ROUNDS=1` narrow it down, e.g. for an instruction count).
#[test]
#[ignore]
fn time_validators_on_a_file() {
    let Some(path) = std::env::var_os("TRITON_LOGS_BENCH_FILE") else {
        return;
    };
    let only = std::env::var("TRITON_LOGS_BENCH_ONLY").ok();
    let rounds: usize = std::env::var("TRITON_LOGS_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let bytes = std::fs::read(path).unwrap();
    let lines: Vec<&[u8]> = bytes.split(|&c| c == b'\n').collect();
    let sink = |field: TopField| {
        std::hint::black_box(field);
    };
    let mut validators: Vec<Named<bool>> =
        vec![("scalar", Box::new(move |l: &[u8]| validate_scalar(l, sink)))];
    #[cfg(target_arch = "x86_64")]
    {
        validators.push((
            "sse2",
            Box::new(move |l: &[u8]| super::x86::validate_sse2(l, sink)),
        ));
        if let Some(avx2) = super::x86::Avx2::detect() {
            validators.push(("avx2", Box::new(move |l: &[u8]| avx2.validate(l, sink))));
        }
    }
    validators.retain(|(name, _)| only.as_deref().is_none_or(|only| only == *name));
    let mut best = vec![0f64; validators.len()];
    for _ in 0..rounds {
        for ((_, validate), best) in validators.iter().zip(&mut best) {
            let start = std::time::Instant::now();
            let valid = lines.iter().filter(|l| validate(l)).count();
            std::hint::black_box(valid);
            *best = best.max(bytes.len() as f64 / start.elapsed().as_secs_f64() / 1e6);
        }
    }
    for ((name, _), best) in validators.iter().zip(&best) {
        println!("{name}: best {best:.0} MB/s");
    }
}
