//! Walking the top-level fields of a JSON object line without building a tree.
//!
//! Filters only need a handful of fields (`time`, `level`, ids); finding their raw value bytes
//! with memchr is far cheaper than a full parse and allocates nothing. The line must already be
//! known to be valid JSON (see [`is_valid_json`]); the walker then only has to find boundaries.

use std::borrow::Cow;

/// Deepest nesting accepted; deeper lines are treated as not JSON.
const MAX_DEPTH: usize = 1024;

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
pub fn is_valid_json(b: &[u8]) -> bool {
    validate(b).is_some()
}

fn validate(b: &[u8]) -> Option<()> {
    let mut nesting = Nesting {
        bits: [0; MAX_DEPTH / 64],
        len: 0,
    };
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
                    pos = member_value_start(b, pos)?;
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
            b'"' => pos = checked_string_end(b, pos)?,
            b't' => pos = literal_end(b, pos, b"true")?,
            b'f' => pos = literal_end(b, pos, b"false")?,
            b'n' => pos = literal_end(b, pos, b"null")?,
            b'-' | b'0'..=b'9' => pos = number_end(b, pos)?,
            _ => return None,
        }
        // A value ended: close containers until one continues.
        loop {
            pos = skip_ws(b, pos);
            match nesting.top() {
                None => return (pos == b.len()).then_some(()),
                Some(object) => match (b.get(pos), object) {
                    (Some(b','), true) => {
                        pos = member_value_start(b, skip_ws(b, pos + 1))?;
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

/// From the opening quote of a member name to the start of its value.
fn member_value_start(b: &[u8], pos: usize) -> Option<usize> {
    if b.get(pos) != Some(&b'"') {
        return None;
    }
    let pos = skip_ws(b, checked_string_end(b, pos)?);
    (b.get(pos) == Some(&b':')).then(|| skip_ws(b, pos + 1))
}

fn literal_end(b: &[u8], pos: usize, word: &[u8]) -> Option<usize> {
    b.get(pos..pos + word.len())
        .filter(|found| *found == word)
        .map(|_| pos + word.len())
}

/// End of a JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(b: &[u8], mut pos: usize) -> Option<usize> {
    let digits = |pos: usize| b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match b.get(pos)? {
        b'0' => pos += 1,
        b'1'..=b'9' => pos += digits(pos),
        _ => return None,
    }
    if b.get(pos) == Some(&b'.') {
        let n = digits(pos + 1);
        if n == 0 {
            return None;
        }
        pos += 1 + n;
    }
    if matches!(b.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let n = digits(pos);
        if n == 0 {
            return None;
        }
        pos += n;
    }
    Some(pos)
}

/// End of a string literal starting at `start`, checking escapes and control characters.
fn checked_string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut pos = start + 1;
    loop {
        match *b.get(pos)? {
            b'"' => return Some(pos + 1),
            b'\\' => match *b.get(pos + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => pos += 2,
                b'u' => {
                    let hex = b.get(pos + 2..pos + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    pos += 6;
                }
                _ => return None,
            },
            c if c < 0x20 => return None,
            _ => pos += 1,
        }
    }
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
