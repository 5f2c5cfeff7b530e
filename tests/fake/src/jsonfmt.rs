//! JSON the way the real (node.js) tools print it.

use serde_json::Value;

/// `JSON.stringify(value, null, 2)` followed by a newline, as `console.log` and `json -q` print.
pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_string());
    text.push('\n');
    text
}

/// `JSON.stringify(value)`: what an API server puts on the wire.
pub fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// Looks up a dotted path (`tags.smartdc_role`, `nics.0.ip`), as VM.js `flatten` does.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// JavaScript's `String(value)` for the scalars tables print; `None` for null/missing.
pub fn js_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|v| js_string(Some(v)).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Some("[object Object]".to_string()),
    }
}

/// Orders two optional values the way JavaScript's `<`/`>` do for the cases tables sort on:
/// numbers numerically, everything else by string; missing values sort last.
pub fn js_cmp(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null())) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Some(x), Some(y)) => js_string(Some(x)).cmp(&js_string(Some(y))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_keeps_insertion_order_and_two_spaces() {
        let v = json!({"zeta": 1, "alpha": [1, {"b": true}], "empty": {}});
        assert_eq!(
            pretty(&v),
            "{\n  \"zeta\": 1,\n  \"alpha\": [\n    1,\n    {\n      \"b\": true\n    }\n  ],\n  \"empty\": {}\n}\n"
        );
    }

    #[test]
    fn dotted_lookup() {
        let v = json!({"tags": {"smartdc_role": "vmapi"}, "nics": [{"ip": "10.0.0.1"}]});
        assert_eq!(lookup(&v, "tags.smartdc_role"), Some(&json!("vmapi")));
        assert_eq!(lookup(&v, "nics.0.ip"), Some(&json!("10.0.0.1")));
        assert_eq!(lookup(&v, "nics.1.ip"), None);
    }
}
