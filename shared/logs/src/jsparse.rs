//! A lenient JSON reader for the lines serde_json refuses but JavaScript's `JSON.parse` reads:
//! numbers beyond the double range (they become `Infinity`, which `JSON.stringify` prints as
//! `null`, so they are kept as `null`) and `\u` escapes of lone UTF-16 surrogates (kept as
//! U+FFFD, which is what the CLI writes for them outside JSON text). Only used as a fallback,
//! on lines [`crate::scan::validate_object`] already accepted.

use serde_json::{Map, Number, Value};

/// Parses one JSON value; `None` when the text is not JSON.
pub fn parse_lenient(text: &str) -> Option<Value> {
    let mut parser = Parser {
        b: text.as_bytes(),
        text,
        pos: 0,
    };
    parser.ws();
    let value = parser.value()?;
    parser.ws();
    (parser.pos == parser.b.len()).then_some(value)
}

struct Parser<'a> {
    b: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.pos) == Some(&c)).then(|| self.pos += 1)
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        match *self.b.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                let mut map = Map::new();
                if self.eat(b'}').is_some() {
                    return Some(Value::Object(map));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.eat(b':')?;
                    let value = self.value()?;
                    // A repeated key keeps its first position and takes the last value.
                    crate::jsval::js_assign(&mut map, key, value);
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some(Value::Object(map));
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(Value::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some(Value::Array(items));
                    }
                }
            }
            b'"' => self.string().map(Value::String),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        self.text[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            value
        })
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while matches!(
            self.b.get(self.pos),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let x: f64 = self.text[start..self.pos].parse().ok()?;
        // Whole numbers stay integers so `as_i64()` works on them, as on serde_json's own.
        const SAFE: f64 = 9_007_199_254_740_992.0;
        if x.fract() == 0.0 && x.abs() < SAFE && !(x == 0.0 && x.is_sign_negative()) {
            return Some(Value::Number(Number::from(x as i64)));
        }
        Some(Number::from_f64(x).map_or(Value::Null, Value::Number))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        if self.b.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let stop = rest.find(['"', '\\'])?;
            out.push_str(&rest[..stop]);
            self.pos += stop;
            if self.b[self.pos] == b'"' {
                self.pos += 1;
                return Some(out);
            }
            self.pos += 1;
            let escape = *self.b.get(self.pos)?;
            self.pos += 1;
            match escape {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let unit = self.hex4()?;
                    let c = if (0xd800..0xdc00).contains(&unit)
                        && self.text[self.pos..].starts_with("\\u")
                    {
                        let save = self.pos;
                        self.pos += 2;
                        let low = self.hex4()?;
                        if (0xdc00..0xe000).contains(&low) {
                            char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
                        } else {
                            self.pos = save;
                            None
                        }
                    } else {
                        char::from_u32(unit)
                    };
                    out.push(c.unwrap_or('\u{fffd}'));
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_refuses() {
        let v = parse_lenient(
            r#"{"big":1e400,"neg":-1e400,"lone":"a\ud800b","pair":"\ud83d\ude00","k":1,"k":2}"#,
        )
        .unwrap();
        assert_eq!(v["big"], Value::Null);
        assert_eq!(v["neg"], Value::Null);
        assert_eq!(v["lone"], "a\u{fffd}b");
        assert_eq!(v["pair"], "\u{1f600}");
        assert_eq!(v["k"], 2);
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["big", "neg", "lone", "pair", "k"]
        );
        assert!(parse_lenient(r#"{"a":1"#).is_none());
    }
}
