//! Walking the top-level fields of a JSON object line without building a tree.
//!
//! Filters only need a handful of fields (`time`, `level`, ids); finding their raw value bytes
//! with memchr is far cheaper than a full parse and allocates nothing. The line must already be
//! known to be valid JSON (see [`is_valid_json`]); the walker then only has to find boundaries.
//!
//! Validation itself has two implementations with the same answers: the block validator in
//! [`crate::structural`] (vector instructions, used where the CPU has them) and the scalar one
//! here, the reference, which also serves every other CPU.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, Ordering};

/// Deepest nesting accepted; deeper lines are treated as not JSON.
pub(crate) const MAX_DEPTH: usize = 1024;

/// Which containers are open, one bit per level (set: object), kept on the stack.
struct Nesting {
    bits: [u64; MAX_DEPTH / 64],
    len: usize,
}

impl Nesting {
    fn push(&mut self, object: bool) -> bool {
        if self.len == MAX_DEPTH {
            return false;
        }
        let (word, bit) = (self.len / 64, self.len % 64);
        if object {
            self.bits[word] |= 1 << bit;
        } else {
            self.bits[word] &= !(1 << bit);
        }
        self.len += 1;
        true
    }

    /// `Some(true)` inside an object, `Some(false)` inside an array, `None` at the top.
    fn top(&self) -> Option<bool> {
        let i = self.len.checked_sub(1)?;
        Some(self.bits[i / 64] & (1 << (i % 64)) != 0)
    }
}

/// Whether `bytes` is exactly one JSON value (surrounding whitespace allowed), by the grammar
/// JavaScript's `JSON.parse` accepts: numbers of any size and any `\u` escape are fine. Bytes
/// that are not UTF-8 are accepted inside strings (the bunyan CLI reads them as U+FFFD). Runs
/// without allocating.
#[cfg(test)]
pub fn is_valid_json(b: &[u8]) -> bool {
    let verdict = validate_scalar(b, |_| {});
    assert_eq!(
        validate_object(b, |_| {}),
        verdict,
        "the fastest validator disagrees with the scalar one on {:?}",
        String::from_utf8_lossy(b)
    );
    verdict
}

/// One member of the top-level object, reported while validating (see [`validate_object`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopField {
    /// The key between its quotes, escapes not decoded.
    pub key: (usize, usize),
    /// Whether the key holds a backslash escape (then compare it decoded).
    pub key_escaped: bool,
    /// The value's exact source bytes.
    pub value: (usize, usize),
}

/// Validates like [`is_valid_json`] and, in the same pass, reports each member of the top-level
/// object. Classifying a log line and locating the fields filters need is the hot loop of every
/// log view, so doing both in one walk roughly halves its cost. `on_field` may see members of a
/// line that turns out invalid; only trust them when this returns `true`.
pub fn validate_object(b: &[u8], on_field: impl FnMut(TopField)) -> bool {
    match Validator::selected() {
        #[cfg(target_arch = "x86_64")]
        Validator::Avx2(avx2) => avx2.validate(b, on_field),
        #[cfg(target_arch = "x86_64")]
        Validator::Sse2 => crate::structural::x86::validate_sse2(b, on_field),
        Validator::Scalar => validate_scalar(b, on_field),
    }
}

/// Which implementation validates lines.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Validator {
    /// 64-byte blocks with AVX2 (x86-64 CPUs that have it).
    #[cfg(target_arch = "x86_64")]
    Avx2(crate::structural::x86::Avx2),
    /// 64-byte blocks with SSE2 (every x86-64 CPU; only when asked for, see [`Self::fastest`]).
    #[cfg(target_arch = "x86_64")]
    Sse2,
    /// Byte by byte, on any CPU.
    Scalar,
}

/// The validator asked for with [`select_json_validator`]: 0 the fastest, 1 scalar, 2 SSE2.
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Names [`select_json_validator`] accepts.
pub const JSON_VALIDATORS: [&str; 3] = ["auto", "scalar", "sse2"];

/// Makes every later validation in this process use one implementation: `auto` (the default)
/// the fastest the CPU runs, `scalar` the byte-at-a-time reference, `sse2` the 16-byte vector
/// one (x86-64 only). All give the same answers; the choice lets the tests run each of them on
/// a machine that has faster instructions.
pub fn select_json_validator(name: &str) -> Result<(), String> {
    let choice = match name {
        "auto" => 0,
        "scalar" => 1,
        "sse2" if cfg!(target_arch = "x86_64") => 2,
        "sse2" => return Err("the sse2 JSON validator needs an x86-64 CPU".to_string()),
        other => {
            return Err(format!(
                "unknown JSON validator \"{other}\" (expected one of: {})",
                JSON_VALIDATORS.join(", ")
            ))
        }
    };
    CHOICE.store(choice, Ordering::Relaxed);
    Ok(())
}

impl Validator {
    /// The implementation to use now.
    #[inline]
    fn selected() -> Validator {
        match CHOICE.load(Ordering::Relaxed) {
            1 => Validator::Scalar,
            #[cfg(target_arch = "x86_64")]
            2 => Validator::Sse2,
            _ => Validator::fastest(),
        }
    }

    /// The fastest implementation this CPU runs (feature detection is cached by std). Without
    /// AVX2 that is the scalar one: with 16-byte vectors the block validator measured slower
    /// than it on vmapi logs (1.2 against 1.6 GB/s).
    #[inline]
    pub(crate) fn fastest() -> Validator {
        #[cfg(target_arch = "x86_64")]
        {
            match crate::structural::x86::Avx2::detect() {
                Some(avx2) => Validator::Avx2(avx2),
                None => Validator::Scalar,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Validator::Scalar
        }
    }
}

/// The scalar validator (see [`validate_object`]).
#[inline]
pub(crate) fn validate_scalar(b: &[u8], on_field: impl FnMut(TopField)) -> bool {
    validate(b, on_field).is_some()
}

fn validate(b: &[u8], mut on_field: impl FnMut(TopField)) -> Option<()> {
    let mut nesting = Nesting {
        bits: [0; MAX_DEPTH / 64],
        len: 0,
    };
    // The top-level member whose value is being read: (key span, key escaped, value start).
    let mut member: Option<((usize, usize), bool, usize)> = None;
    let mut pos = skip_ws(b, 0);
    'value: loop {
        match *b.get(pos)? {
            b'{' => {
                pos = skip_ws(b, pos + 1);
                if b.get(pos) == Some(&b'}') {
                    pos += 1;
                } else {
                    if !nesting.push(true) {
                        return None;
                    }
                    let (key, escaped, value_start) = member_value_start(b, pos)?;
                    if nesting.len == 1 {
                        member = Some((key, escaped, value_start));
                    }
                    pos = value_start;
                    continue 'value;
                }
            }
            b'[' => {
                pos = skip_ws(b, pos + 1);
                if b.get(pos) == Some(&b']') {
                    pos += 1;
                } else {
                    if !nesting.push(false) {
                        return None;
                    }
                    continue 'value;
                }
            }
            b'"' => pos = checked_string_end(b, pos)?.0,
            b't' => pos = literal_end(b, pos, b"true")?,
            b'f' => pos = literal_end(b, pos, b"false")?,
            b'n' => pos = literal_end(b, pos, b"null")?,
            b'-' | b'0'..=b'9' => pos = number_end(b, pos)?,
            _ => return None,
        }
        // A value ended: close containers until one continues.
        loop {
            if nesting.len == 1 {
                if let Some((key, key_escaped, start)) = member.take() {
                    on_field(TopField {
                        key,
                        key_escaped,
                        value: (start, pos),
                    });
                }
            }
            pos = skip_ws(b, pos);
            match nesting.top() {
                None => return (pos == b.len()).then_some(()),
                Some(object) => match (b.get(pos), object) {
                    (Some(b','), true) => {
                        let (key, escaped, value_start) =
                            member_value_start(b, skip_ws(b, pos + 1))?;
                        if nesting.len == 1 {
                            member = Some((key, escaped, value_start));
                        }
                        pos = value_start;
                        continue 'value;
                    }
                    (Some(b','), false) => {
                        pos = skip_ws(b, pos + 1);
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        nesting.len -= 1;
                        pos += 1;
                    }
                    _ => return None,
                },
            }
        }
    }
}

/// From the opening quote of a member name to the start of its value; also gives the key's
/// span (inside the quotes) and whether it holds an escape.
fn member_value_start(b: &[u8], pos: usize) -> Option<((usize, usize), bool, usize)> {
    if b.get(pos) != Some(&b'"') {
        return None;
    }
    let (key_end, escaped) = checked_string_end(b, pos)?;
    let colon = skip_ws(b, key_end);
    (b.get(colon) == Some(&b':')).then(|| ((pos + 1, key_end - 1), escaped, skip_ws(b, colon + 1)))
}

#[inline]
pub(crate) fn literal_end(b: &[u8], pos: usize, word: &[u8]) -> Option<usize> {
    b.get(pos..pos + word.len())
        .filter(|found| *found == word)
        .map(|_| pos + word.len())
}

/// End of a JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
#[inline]
pub(crate) fn number_end(b: &[u8], mut pos: usize) -> Option<usize> {
    let digits_end = |mut pos: usize| {
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        pos
    };
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match b.get(pos)? {
        b'0' => pos += 1,
        b'1'..=b'9' => pos = digits_end(pos + 1),
        _ => return None,
    }
    if b.get(pos) == Some(&b'.') {
        let end = digits_end(pos + 1);
        if end == pos + 1 {
            return None;
        }
        pos = end;
    }
    if matches!(b.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let end = digits_end(pos);
        if end == pos {
            return None;
        }
        pos = end;
    }
    Some(pos)
}

/// End of a string literal starting at `start` (index past the closing quote), checking escapes
/// and control characters; also says whether the string held an escape. Runs of plain bytes are
/// skipped eight at a time: most of a log line is string content.
fn checked_string_end(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut pos = start + 1;
    let mut escaped = false;
    loop {
        pos += plain_run(&b[pos.min(b.len())..]);
        match *b.get(pos)? {
            b'"' => return Some((pos + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *b.get(pos + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => pos += 2,
                    b'u' => {
                        let hex = b.get(pos + 2..pos + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        pos += 6;
                    }
                    _ => return None,
                }
            }
            c if c < 0x20 => return None,
            _ => pos += 1,
        }
    }
}

/// Length of the leading run of bytes that need no attention inside a JSON string (anything but
/// `"`, `\\` and control characters), found a 64-bit word at a time.
fn plain_run(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte of `v` that is zero; exact for the lowest such byte, which is
    // all the scan needs (borrows only run towards higher bytes).
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut done = 0;
    for chunk in b.chunks_exact(8) {
        let word = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let special = zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        if special != 0 {
            return done + (special.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done
}

/// Iterator over `(raw key, raw value)` of the top-level object in a valid JSON line. The key is
/// the text between its quotes (escapes not decoded); the value is its exact source bytes.
pub struct TopLevelFields<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> TopLevelFields<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut pos = skip_ws(bytes, 0);
        let done = bytes.get(pos) != Some(&b'{');
        pos += 1;
        TopLevelFields { bytes, pos, done }
    }
}

impl<'a> Iterator for TopLevelFields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.bytes;
        let mut pos = skip_ws(b, self.pos);
        if b.get(pos) == Some(&b',') {
            pos = skip_ws(b, pos + 1);
        }
        if b.get(pos) != Some(&b'"') {
            self.done = true;
            return None;
        }
        let key_end = string_end(b, pos)?;
        let key = &b[pos + 1..key_end - 1];
        pos = skip_ws(b, key_end);
        if b.get(pos) != Some(&b':') {
            self.done = true;
            return None;
        }
        pos = skip_ws(b, pos + 1);
        let value_end = value_end(b, pos);
        let Some(value_end) = value_end else {
            self.done = true;
            return None;
        };
        self.pos = value_end;
        Some((key, &b[pos..value_end]))
    }
}

fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while let Some(c) = b.get(pos) {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        pos += 1;
    }
    pos
}

/// Index just past the closing quote of the string starting at `start` (which holds `"`).
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut pos = start + 1;
    loop {
        let found = memchr::memchr2(b'"', b'\\', b.get(pos..)?)?;
        pos += found;
        if b[pos] == b'\\' {
            pos += 2;
        } else {
            return Some(pos + 1);
        }
    }
}

/// Index just past the value starting at `start`.
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match b.get(start)? {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut pos = start;
            while let Some(c) = b.get(pos) {
                match c {
                    b'"' => {
                        pos = string_end(b, pos)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
            None
        }
        _ => {
            let mut pos = start;
            while let Some(c) = b.get(pos) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                pos += 1;
            }
            Some(pos)
        }
    }
}

/// Whether a raw (still escaped) key spells `name`.
pub fn key_is(raw: &[u8], name: &str) -> bool {
    if memchr::memchr(b'\\', raw).is_none() {
        raw == name.as_bytes()
    } else {
        decode_raw_string(raw).as_deref() == Some(name)
    }
}

/// Decodes the inside of a JSON string literal. Borrows when there is nothing to unescape;
/// invalid UTF-8 becomes U+FFFD (as a JavaScript reader would see it).
pub fn decode_raw_string(raw: &[u8]) -> Option<Cow<'_, str>> {
    if memchr::memchr(b'\\', raw).is_none() {
        return Some(String::from_utf8_lossy(raw));
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    let text = String::from_utf8_lossy(&quoted);
    serde_json::from_str::<String>(&text).ok().map(Cow::Owned)
}

/// The decoded text of a raw JSON value when it is a string literal.
pub fn value_as_str(raw: &[u8]) -> Option<Cow<'_, str>> {
    if raw.len() >= 2 && raw[0] == b'"' && raw[raw.len() - 1] == b'"' {
        decode_raw_string(&raw[1..raw.len() - 1])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_top_level_fields_only() {
        let line = br#"{"a":{"b":"}{\"","c":[1,{"d":2}]},"e" : "x\"y" ,"f":12.5e3,"g":null}"#;
        assert!(is_valid_json(line));
        let fields: Vec<(String, String)> = TopLevelFields::new(line)
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                ("a".into(), r#"{"b":"}{\"","c":[1,{"d":2}]}"#.into()),
                ("e".into(), r#""x\"y""#.into()),
                ("f".into(), "12.5e3".into()),
                ("g".into(), "null".into()),
            ]
        );
    }

    #[test]
    fn plain_runs_stop_at_the_first_byte_that_needs_attention() {
        for special in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..20 {
                let mut bytes = vec![b'a'; 24];
                // High bytes and the neighbours of the special ones must not stop a run.
                bytes[(at + 3) % 24] = 0xff;
                bytes[(at + 5) % 24] = 0x20;
                bytes[at] = special;
                let expected = bytes.iter().position(|c| *c == special).unwrap();
                assert_eq!(plain_run(&bytes), expected, "special {special:#x} at {at}");
            }
        }
        assert_eq!(
            plain_run(b"abcdefghijk"),
            8,
            "a tail shorter than a word is left"
        );
    }

    #[test]
    fn validation_reports_the_top_level_members_once() {
        let line = br#"{"a":{"b":1,"c":[2,{"d":3}]},"e\u0066":"x","g":4 , "h" : [] }"#;
        let mut seen = Vec::new();
        assert!(validate_object(line, |f| seen.push((
            String::from_utf8_lossy(&line[f.key.0..f.key.1]).into_owned(),
            f.key_escaped,
            String::from_utf8_lossy(&line[f.value.0..f.value.1]).into_owned(),
        ))));
        let expected = [
            ("a", false, r#"{"b":1,"c":[2,{"d":3}]}"#),
            ("e\\u0066", true, r#""x""#),
            ("g", false, "4"),
            ("h", false, "[]"),
        ];
        let expected: Vec<(String, bool, String)> = expected
            .iter()
            .map(|(k, e, v)| (k.to_string(), *e, v.to_string()))
            .collect();
        assert_eq!(seen, expected);
        assert!(!validate_object(br#"{"a":1,"b":}"#, |_| {}));
    }

    /// The number grammar, checked against a direct reading of the JSON spec on every string
    /// of up to five bytes over the characters numbers use.
    #[test]
    fn numbers_follow_the_json_grammar() {
        fn digits(s: &[u8]) -> usize {
            s.iter().take_while(|c| c.is_ascii_digit()).count()
        }
        // Length of the longest prefix of `s` that is a JSON number.
        fn reference(s: &[u8]) -> Option<usize> {
            let mut i = usize::from(s.first() == Some(&b'-'));
            let int = digits(&s[i..]);
            if int == 0 || (int > 1 && s[i] == b'0') {
                return if int > 1 { Some(i + 1) } else { None };
            }
            i += int;
            if s.get(i) == Some(&b'.') {
                let frac = digits(&s[i + 1..]);
                if frac == 0 {
                    return None;
                }
                i += 1 + frac;
            }
            if matches!(s.get(i), Some(b'e' | b'E')) {
                let mut j = i + 1;
                if matches!(s.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                let exp = digits(&s[j..]);
                if exp == 0 {
                    return None;
                }
                i = j + exp;
            }
            Some(i)
        }
        let alphabet = b"01-+.eE9";
        let mut cases = vec![Vec::new()];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = cases
                .iter()
                .filter(|c| c.len() == cases.last().map_or(0, Vec::len))
                .flat_map(|c| {
                    alphabet.iter().map(move |&a| {
                        let mut c = c.clone();
                        c.push(a);
                        c
                    })
                })
                .collect();
            cases.extend(longer);
        }
        assert!(cases.len() > 30_000);
        for case in &cases {
            assert_eq!(
                number_end(case, 0),
                reference(case),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn unknown_validator_names_are_refused() {
        let refused = select_json_validator("simd").unwrap_err();
        assert!(refused.contains("auto, scalar, sse2"), "{refused}");
    }

    #[test]
    fn escaped_keys_and_values_decode() {
        assert!(key_is(br"\u0076", "v"));
        assert_eq!(value_as_str(br#""a\nb""#).as_deref(), Some("a\nb"));
        assert_eq!(value_as_str(b"12"), None);
    }

    #[test]
    fn validation_follows_json_parse() {
        let valid: &[&[u8]] = &[
            br#"{"a":1} "#,
            br#" {"a":[1,-0.5e+3,{"b":null},true,false,"x\u00e9\n"],"c":{}}"#,
            br#"{"big":1e400,"lone":"\ud800"}"#,
            b"{\"bytes\":\"\xff\xfe\"}",
            b"[]",
            b"\"s\"",
        ];
        for line in valid {
            assert!(is_valid_json(line), "{}", String::from_utf8_lossy(line));
        }
        let invalid: &[&[u8]] = &[
            br#"{"a":1"#,
            br#"{"a":1} x"#,
            br#"{"a":01}"#,
            br#"{"a":1.}"#,
            br#"{"a":.5}"#,
            br#"{"a":+1}"#,
            br#"{"a" 1}"#,
            br#"{"a":1,}"#,
            br#"[1,]"#,
            br#"{'a':1}"#,
            br#"{"a":"\x"}"#,
            br#"{"a":"\u12g4"}"#,
            b"{\"a\":\"tab\there\"}",
            br#"{"a":tru}"#,
            br#"{"a":1]"#,
            b"",
            b"\xff{}",
        ];
        for line in invalid {
            assert!(!is_valid_json(line), "{}", String::from_utf8_lossy(line));
        }
        // The innermost `[]` opens no level of its own.
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(is_valid_json(nested(MAX_DEPTH + 1).as_bytes()));
        assert!(!is_valid_json(nested(MAX_DEPTH + 2).as_bytes()));
    }
}
