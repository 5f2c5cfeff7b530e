//! The `long`, `short` and `simple` formats.
//!
//! Follows the bunyan CLI's `emitRecord` step by step, because its output depends on the order in
//! which fields are taken out of the record: the remaining fields become `key=value` extras (in
//! record order, after `req_id`) or indented detail blocks, and the unused parts of `req`, `res`,
//! `client_req`, `client_res` and `err` come back as `req.x`-style fields at the end.

use serde_json::{Map, Value};

use super::inspect::{inspect, InspectOptions};
use super::status::reason_phrase;
use super::RenderOptions;
use crate::jsval::{
    js_assign, js_length, json_string, number_to_string, number_value, stringify, to_js_number,
    to_js_string, to_js_string_opt, trim_right, truthy,
};
use crate::time;

type Object = Map<String, Value>;

/// Node's `util.format('%s', v)`.
fn format_s(v: Option<&Value>) -> String {
    match v {
        None => "undefined".to_string(),
        Some(Value::Number(n)) => format_number(number_value(n)),
        Some(v @ (Value::Object(_) | Value::Array(_))) => inspect(
            v,
            InspectOptions {
                depth: Some(0),
                colors: false,
            },
        ),
        Some(v) => to_js_string(v),
    }
}

/// Node's `util.format('%d', v)`.
fn format_d(v: Option<&Value>) -> String {
    format_number(to_js_number(v))
}

fn format_number(x: f64) -> String {
    if x == 0.0 && x.is_sign_negative() {
        "-0".to_string()
    } else {
        number_to_string(x)
    }
}

/// bunyan's `indent()`: four spaces before every line (`\r\n` becomes `\n`).
fn indent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str("    ");
    let mut rest = s;
    while let Some(pos) = rest.find('\n') {
        let line = &rest[..pos];
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push_str("\n    ");
        rest = &rest[pos + 1..];
    }
    out.push_str(rest);
    out
}

fn stylize(s: &str, color: &str, opts: &RenderOptions) -> String {
    if s.is_empty() {
        return String::new();
    }
    if !opts.color {
        return s.to_string();
    }
    let codes = match color {
        "bold" => (1, 22),
        "italic" => (3, 23),
        "underline" => (4, 24),
        "inverse" => (7, 27),
        "white" => (37, 39),
        "grey" => (90, 39),
        "black" => (30, 39),
        "blue" => (34, 39),
        "cyan" => (36, 39),
        "green" => (32, 39),
        "magenta" => (35, 39),
        "red" => (31, 39),
        "yellow" => (33, 39),
        _ => return s.to_string(),
    };
    format!("\u{1b}[{}m{}\u{1b}[{}m", codes.0, s, codes.1)
}

fn level_key(level: Option<&Value>) -> String {
    to_js_string_opt(level)
}

/// `upperNameFromLevel`.
pub(crate) fn upper_level_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "10" => "TRACE",
        "20" => "DEBUG",
        "30" => "INFO",
        "40" => "WARN",
        "50" => "ERROR",
        "60" => "FATAL",
        _ => return None,
    })
}

fn level_color(key: &str) -> &'static str {
    match key {
        "10" => "white",
        "20" => "yellow",
        "30" => "cyan",
        "40" => "magenta",
        "50" => "red",
        "60" => "inverse",
        _ => "none",
    }
}

/// JavaScript's `Object.keys(v)` for the values a record can hold.
fn js_keys(v: &Value) -> Vec<String> {
    match v {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
        Value::String(s) => (0..js_length(s)).map(|i| i.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// `v[key]` for the values a record can hold.
fn js_get(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Object(map) => map.get(key).cloned(),
        Value::Array(items) => key
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i))
            .cloned(),
        Value::String(s) => {
            let i: usize = key.parse().ok()?;
            let units: Vec<u16> = s.encode_utf16().collect();
            units
                .get(i)
                .map(|u| Value::String(String::from_utf16_lossy(&[*u])))
        }
        _ => None,
    }
}

/// `Object.keys(h).map(k => k + ': ' + h[k]).join('\n')`.
fn header_lines(headers: &Value) -> String {
    js_keys(headers)
        .iter()
        .map(|k| format!("{k}: {}", to_js_string_opt(js_get(headers, k).as_ref())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `typeof v === 'object'` (arrays and null included) for a present value.
fn is_js_object(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Object(_) | Value::Array(_) | Value::Null))
}

/// An object-typed field (`typeof x === 'object'`, truthy) taken as a key/value map.
fn as_object(v: Value) -> Object {
    match v {
        Value::Object(map) => map,
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (i.to_string(), item))
            .collect(),
        _ => Object::new(),
    }
}

fn body_text(body: &Value) -> String {
    if is_js_object(Some(body)) {
        stringify(body, 2)
    } else {
        to_js_string(body)
    }
}

/// Moves every remaining key of `part` onto the record as `prefix.key`.
fn hoist(rec: &mut Object, prefix: &str, part: Object) {
    for (k, v) in part {
        js_assign(rec, format!("{prefix}.{k}"), v);
    }
}

fn render_time(time: Option<&Value>, short: bool, opts: &RenderOptions) -> String {
    if !short && opts.local_time.is_none() {
        return format!("[{}]", to_js_string_opt(time));
    }
    let ts = match time {
        Some(Value::String(s)) => time::parse_record_time(s),
        Some(Value::Number(n)) => time::time_from_epoch_millis(number_value(n)),
        _ => None,
    };
    match (ts, &opts.local_time) {
        (None, _) => "Invalid date".to_string(),
        (Some(ts), Some(tz)) => time::format_local(ts, tz, short),
        (Some(ts), None) => time::format_short_utc(ts),
    }
}

fn render_request(req: Object, rec: &mut Object, details: &mut Vec<String>) {
    let mut req = req;
    let headers = match req.get("headers") {
        None => String::new(),
        Some(h) if !truthy(Some(h)) => String::new(),
        Some(Value::String(s)) => format!("\n{s}"),
        Some(h @ (Value::Object(_) | Value::Array(_))) => format!("\n{}", header_lines(h)),
        Some(other) => format_s(Some(other)),
    };
    let version = req
        .get("httpVersion")
        .filter(|v| truthy(Some(v)))
        .map_or_else(|| "1.1".to_string(), |v| format_s(Some(v)));
    let mut s = format!(
        "{} {} HTTP/{}{}",
        format_s(req.get("method")),
        format_s(req.get("url")),
        version,
        headers
    );
    for key in ["url", "method", "httpVersion", "headers"] {
        req.shift_remove(key);
    }
    if truthy(req.get("body")) {
        if let Some(body) = req.shift_remove("body") {
            s.push_str("\n\n");
            s.push_str(&body_text(&body));
        }
    }
    if let Some(trailers) = req.get("trailers").filter(|t| truthy(Some(t))) {
        // `Object.keys(trailers) > 0`: the key list compared as a number.
        let keys = js_keys(trailers);
        if jsval_keys_as_number(&keys) > 0.0 {
            s.push('\n');
            s.push_str(&header_lines(trailers));
        }
    }
    req.shift_remove("trailers");
    details.push(indent(&s));
    hoist(rec, "req", req);
}

fn jsval_keys_as_number(keys: &[String]) -> f64 {
    crate::jsval::string_to_number(&keys.join(","))
}

fn render_client_request(mut req: Object, rec: &mut Object, details: &mut Vec<String>) {
    let headers = req.shift_remove("headers");
    let has_host = match &headers {
        Some(Value::Object(map)) => ["host", "Host", "HOST"]
            .iter()
            .any(|k| map.contains_key(*k)),
        _ => false,
    };
    let mut host_line = String::new();
    if !truthy(headers.as_ref()) || !has_host {
        if let Some(address) = req.get("address") {
            host_line = format!("\nHost: {}", to_js_string(address));
            if let Some(port) = req.get("port") {
                let n = to_js_number(Some(port));
                if n != 80.0 && n != 443.0 {
                    host_line.push(':');
                    host_line.push_str(&to_js_string(port));
                }
                req.shift_remove("port");
            }
            req.shift_remove("address");
        }
    }
    let header_text = match &headers {
        Some(h) if truthy(Some(h)) => format!("\n{}", header_lines(h)),
        _ => String::new(),
    };
    let version = req
        .get("httpVersion")
        .filter(|v| truthy(Some(v)))
        .map_or_else(|| "1.1".to_string(), |v| format_s(Some(v)));
    let mut s = format!(
        "{} {} HTTP/{}{}{}",
        format_s(req.get("method")),
        format_s(req.get("url")),
        version,
        host_line,
        header_text
    );
    for key in ["method", "url", "httpVersion"] {
        req.shift_remove(key);
    }
    if truthy(req.get("body")) {
        if let Some(body) = req.shift_remove("body") {
            s.push_str("\n\n");
            s.push_str(&body_text(&body));
        }
    }
    hoist(rec, "client_req", req);
    details.push(indent(&s));
}

/// bunyan's `_res()`, used for both `res` and `client_res` (both hoist leftovers as `res.x`).
fn render_response(mut res: Object, rec: &mut Object, details: &mut Vec<String>) {
    let usable = |v: Option<&Value>| {
        truthy(v)
            && matches!(
                v,
                Some(Value::String(_) | Value::Object(_) | Value::Array(_))
            )
    };
    let headers = if usable(res.get("header")) {
        res.shift_remove("header")
    } else if usable(res.get("headers")) {
        res.shift_remove("headers")
    } else {
        None
    };
    let mut headers_text = String::new();
    let mut has_status_line = false;
    match &headers {
        None => {}
        Some(Value::String(h)) => {
            headers_text = trim_right(h).to_string();
            has_status_line = headers_text.starts_with("HTTP/");
        }
        Some(h) => headers_text = header_lines(h),
    }
    let mut s = String::new();
    if !has_status_line {
        if let Some(code) = res.get("statusCode") {
            let key = to_js_string(code);
            let reason = reason_phrase(&key).unwrap_or("undefined");
            s.push_str(&format!("HTTP/1.1 {} {}\n", format_s(Some(code)), reason));
        }
    }
    res.shift_remove("statusCode");
    s.push_str(&headers_text);
    if let Some(body) = res.shift_remove("body") {
        let text = body_text(&body);
        let has_length = match &body {
            Value::String(b) => !b.is_empty(),
            Value::Number(_) | Value::Bool(_) => false,
            _ => !text.is_empty(),
        };
        if has_length {
            s.push_str("\n\n");
            s.push_str(&text);
        }
    } else {
        s = trim_right(&s).to_string();
    }
    if truthy(res.get("trailer")) {
        s.push('\n');
        s.push_str(&to_js_string_opt(res.get("trailer")));
    }
    res.shift_remove("trailer");
    if !s.is_empty() {
        details.push(indent(&s));
    }
    hoist(rec, "res", res);
}

fn render_error(mut err: Object, rec: &mut Object, details: &mut Vec<String>) {
    let stack = match err.get("stack") {
        Some(Value::String(s)) => s.clone(),
        other => to_js_string_opt(other),
    };
    details.push(indent(&stack));
    for key in ["message", "name", "stack"] {
        err.shift_remove(key);
    }
    hoist(rec, "err", err);
}

/// Renders `rec` in the long (`short == false`) or short format, final newline included.
pub(crate) fn render(mut rec: Object, short: bool, opts: &RenderOptions) -> String {
    rec.shift_remove("v");
    let time = render_time(rec.get("time"), short, opts);
    rec.shift_remove("time");

    let component = rec.shift_remove("component");
    let name = rec.shift_remove("name");
    let mut name_str = if short && !truthy(component.as_ref()) {
        format_s(name.as_ref())
    } else {
        to_js_string_opt(name.as_ref())
    };
    if truthy(component.as_ref()) {
        name_str.push('/');
        name_str.push_str(&to_js_string_opt(component.as_ref()));
    }
    let pid = rec.shift_remove("pid");
    if !short {
        name_str.push('/');
        name_str.push_str(&to_js_string_opt(pid.as_ref()));
    }

    let level = rec.shift_remove("level");
    let key = level_key(level.as_ref());
    let mut level_str = upper_level_name(&key).map_or_else(
        || format!("LVL{key}"),
        |n| {
            if n.len() == 4 {
                format!(" {n}")
            } else {
                n.to_string()
            }
        },
    );
    if opts.color {
        level_str = stylize(&level_str, level_color(&key), opts);
    }

    let src = rec.shift_remove("src");
    let mut src_str = String::new();
    if let Some(Value::Object(s)) = &src {
        if truthy(s.get("file")) {
            src_str = if truthy(s.get("func")) {
                format!(
                    " ({}:{} in {})",
                    format_s(s.get("file")),
                    format_d(s.get("line")),
                    format_s(s.get("func"))
                )
            } else {
                format!(" ({}:{})", format_s(s.get("file")), format_d(s.get("line")))
            };
            src_str = stylize(&src_str, "green", opts);
        }
    }

    let hostname = rec.shift_remove("hostname");
    let mut extras: Vec<String> = Vec::new();
    let mut details: Vec<String> = Vec::new();

    let req_id = rec.shift_remove("req_id");
    if truthy(req_id.as_ref()) {
        extras.push(format!("req_id={}", to_js_string_opt(req_id.as_ref())));
    }

    let msg = rec.shift_remove("msg");
    let msg_text = to_js_string_opt(msg.as_ref());
    let multiline = match &msg {
        Some(Value::String(m)) => m.contains('\n'),
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some("\n")),
        _ => false,
    };
    let oneline_msg = if multiline {
        details.push(indent(&stylize(&msg_text, "cyan", opts)));
        String::new()
    } else {
        format!(" {}", stylize(&msg_text, "cyan", opts))
    };

    if truthy(rec.get("req")) && is_js_object(rec.get("req")) {
        if let Some(req) = rec.shift_remove("req") {
            render_request(as_object(req), &mut rec, &mut details);
        }
    }
    if truthy(rec.get("client_req")) && is_js_object(rec.get("client_req")) {
        if let Some(req) = rec.shift_remove("client_req") {
            render_client_request(as_object(req), &mut rec, &mut details);
        }
    }
    for field in ["res", "client_res"] {
        if truthy(rec.get(field)) && is_js_object(rec.get(field)) {
            if let Some(res) = rec.get(field).cloned() {
                render_response(as_object(res), &mut rec, &mut details);
                rec.shift_remove(field);
            }
        }
    }
    let err_has_stack = match rec.get("err") {
        Some(Value::Object(err)) => truthy(err.get("stack")),
        _ => false,
    };
    if err_has_stack {
        if let Some(err) = rec.shift_remove("err") {
            render_error(as_object(err), &mut rec, &mut details);
        }
    }

    for (key, value) in &rec {
        let (text, stringified) = match value {
            Value::String(s) => (s.clone(), false),
            other => (stringify(other, 2), true),
        };
        if text.contains('\n') || js_length(&text) > 50 {
            details.push(indent(&format!("{key}: {text}")));
        } else if !stringified && (text.contains(' ') || text.is_empty()) {
            extras.push(format!("{key}={}", json_string(&text)));
        } else {
            extras.push(format!("{key}={text}"));
        }
    }

    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!(" ({})", extras.join(", "))
    };
    let details = if details.is_empty() {
        String::new()
    } else {
        format!("{}\n", details.join("\n    --\n"))
    };
    if short {
        format!("{time} {level_str} {name_str}:{oneline_msg}{extras}\n{details}")
    } else {
        let host = if truthy(hostname.as_ref()) {
            format_s(hostname.as_ref())
        } else {
            "<no-hostname>".to_string()
        };
        format!(
            "{time} {level_str}: {name_str} on {host}{src_str}:{oneline_msg}{extras}\n{details}"
        )
    }
}

/// The `simple` format: `LEVEL - msg`.
pub(crate) fn render_simple(rec: &Object) -> String {
    let key = level_key(rec.get("level"));
    let level = upper_level_name(&key).map_or_else(|| format!("LVL{key}"), str::to_string);
    format!("{level} - {}\n", format_s(rec.get("msg")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_prefixes_every_line() {
        assert_eq!(indent("a\r\nb\nc"), "    a\n    b\n    c");
    }
}
