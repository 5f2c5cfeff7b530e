//! JavaScript value semantics over `serde_json::Value`.
//!
//! The bunyan CLI is JavaScript: it prints values with `String(v)`, `JSON.stringify` and
//! `util.format`, tests them for truthiness, and walks object keys in JavaScript order. Output can
//! only be byte-identical if those rules are reproduced exactly, so they live here in one place.

use serde_json::{Map, Value};

/// `Number.prototype.toString()` for a double: shortest round-trip digits laid out the way
/// ECMAScript prescribes (plain up to 1e21, exponent form beyond, `0.000001` down to 1e-7).
pub fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

/// The double a JSON number denotes (JavaScript has no integers beyond 2^53).
pub fn number_value(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// `String(v)` — what `'' + v` produces.
pub fn to_js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(number_value(n)),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => String::new(),
                other => to_js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_string(),
    }
}

/// `String(v)` where `v` may be `undefined` (a missing property).
pub fn to_js_string_opt(v: Option<&Value>) -> String {
    v.map_or_else(|| "undefined".to_string(), to_js_string)
}

/// JavaScript truthiness.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => {
            let x = number_value(n);
            x != 0.0 && !x.is_nan()
        }
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
    }
}

/// `Number(s)` for a string: trimmed, empty is 0, decimal or 0x/0o/0b integer, else NaN.
pub fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    let radix = |prefix: &[&str], radix: u32| -> Option<f64> {
        let lower = t.to_ascii_lowercase();
        prefix.iter().find_map(|p| {
            lower.strip_prefix(p).map(|digits| {
                if digits.is_empty() {
                    f64::NAN
                } else {
                    u128::from_str_radix(digits, radix).map_or(f64::NAN, |v| v as f64)
                }
            })
        })
    };
    if let Some(v) = radix(&["0x"], 16)
        .or_else(|| radix(&["0o"], 8))
        .or_else(|| radix(&["0b"], 2))
    {
        return v;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    let valid = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && t.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

fn is_js_whitespace(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// `Number(v)`.
pub fn to_js_number(v: Option<&Value>) -> f64 {
    match v {
        None => f64::NAN,
        Some(Value::Null) => 0.0,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(Value::Number(n)) => number_value(n),
        Some(Value::String(s)) => string_to_number(s),
        Some(array @ Value::Array(_)) => string_to_number(&to_js_string(array)),
        Some(Value::Object(_)) => f64::NAN,
    }
}

/// `s.length`: JavaScript counts UTF-16 code units.
pub fn js_length(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `s.trimRight()`.
pub fn trim_right(s: &str) -> &str {
    s.trim_end_matches(is_js_whitespace)
}

/// Whether `key` is an array index, which JavaScript objects enumerate first, in numeric order.
fn is_array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u64>()
        .ok()
        .filter(|v| *v < u64::from(u32::MAX))
        .map(|v| v as u32)
}

/// Reorders every object in `v` the way `JSON.parse` would have built it: integer-like keys first,
/// ascending, then the others in insertion order.
pub fn normalize_key_order(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.keys().any(|k| is_array_index(k).is_some()) {
                let old = std::mem::take(map);
                let (mut indexed, named): (Vec<_>, Vec<_>) = old
                    .into_iter()
                    .partition(|(k, _)| is_array_index(k).is_some());
                indexed.sort_by_key(|(k, _)| is_array_index(k));
                map.extend(indexed);
                map.extend(named);
            }
            map.values_mut().for_each(normalize_key_order);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_key_order),
        _ => {}
    }
}

/// Inserts like a JavaScript property assignment: an existing key keeps its position.
pub fn js_assign(map: &mut Map<String, Value>, key: String, value: Value) {
    if let Some(slot) = map.get_mut(&key) {
        *slot = value;
    } else {
        map.insert(key, value);
    }
}

/// `JSON.stringify(v, null, indent)`.
pub fn stringify(v: &Value, indent: usize) -> String {
    let gap = " ".repeat(indent.min(10));
    let mut out = String::new();
    write_json(&mut out, v, &gap, "");
    out
}

fn write_json(out: &mut String, v: &Value, gap: &str, current: &str) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let x = number_value(n);
            if x.is_finite() {
                out.push_str(&number_to_string(x));
            } else {
                out.push_str("null");
            }
        }
        Value::String(s) => quote_json(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            let inner = format!("{current}{gap}");
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !gap.is_empty() {
                    out.push('\n');
                    out.push_str(&inner);
                }
                write_json(out, item, gap, &inner);
            }
            if !gap.is_empty() {
                out.push('\n');
                out.push_str(current);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let inner = format!("{current}{gap}");
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !gap.is_empty() {
                    out.push('\n');
                    out.push_str(&inner);
                }
                quote_json(out, key);
                out.push(':');
                if !gap.is_empty() {
                    out.push(' ');
                }
                write_json(out, item, gap, &inner);
            }
            if !gap.is_empty() {
                out.push('\n');
                out.push_str(current);
            }
            out.push('}');
        }
    }
}

/// JSON string quoting as `JSON.stringify` does it (lowercase `\u00xx` for other controls).
pub fn quote_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `JSON.stringify` of a string value.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_json(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (1.0, "1"),
            (-3.5, "-3.5"),
            (1e21, "1e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (2f64.powi(53) + 2.0, "9007199254740994"),
        ];
        for (x, want) in cases {
            assert_eq!(number_to_string(x), want, "for {x:e}");
        }
    }

    #[test]
    fn stringify_matches_json_stringify_layout() {
        let v = json!({"a": [1, {}], "b": {"c": []}, "d": "x\u{1}"});
        assert_eq!(
            stringify(&v, 0),
            r#"{"a":[1,{}],"b":{"c":[]},"d":"x\u0001"}"#
        );
        assert_eq!(
            stringify(&v, 2),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": []\n  },\n  \"d\": \"x\\u0001\"\n}"
        );
    }

    #[test]
    fn string_conversion_follows_javascript() {
        assert_eq!(to_js_string(&json!([1, null, "a", [2, 3]])), "1,,a,2,3");
        assert_eq!(to_js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(string_to_number(" 42 "), 42.0);
        assert_eq!(string_to_number(""), 0.0);
        assert!(string_to_number("info").is_nan());
    }

    #[test]
    fn integer_keys_come_first() {
        let mut v: Value = serde_json::from_str(r#"{"b":1,"10":2,"a":3,"2":4}"#).unwrap();
        normalize_key_order(&mut v);
        assert_eq!(stringify(&v, 0), r#"{"2":4,"10":2,"b":1,"a":3}"#);
    }
}
