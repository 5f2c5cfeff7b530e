//! Node.js `util.inspect` for JSON values: the `inspect` output mode, and `%s` of an object in
//! `util.format`. Follows Node's layout rules (single-line when short and at most three levels
//! deep, 80-column break length); long arrays are not grouped into columns.

use serde_json::Value;

use crate::jsval::{js_length, number_to_string, number_value};

const BREAK_LENGTH: usize = 80;
const COMPACT: usize = 3;
const MIN_LINE_WIDTH: usize = 16;
const MAX_ARRAY_LENGTH: usize = 100;
const MAX_STRING_LENGTH: usize = 10_000;

/// Options of one `util.inspect` call.
#[derive(Debug, Clone, Copy)]
pub struct InspectOptions {
    /// Nesting depth printed in full; deeper objects print as `[Object]`/`[Array]`.
    pub depth: Option<usize>,
    pub colors: bool,
}

struct Ctx {
    opts: InspectOptions,
    indentation: usize,
    current_depth: usize,
}

/// `util.inspect(value, opts)`.
pub fn inspect(v: &Value, opts: InspectOptions) -> String {
    let mut ctx = Ctx {
        opts,
        indentation: 0,
        current_depth: 0,
    };
    format_value(&mut ctx, v, 0)
}

fn stylize(ctx: &Ctx, s: &str, style: &str) -> String {
    if !ctx.opts.colors {
        return s.to_string();
    }
    let codes = match style {
        "special" => (36, 39),
        "number" | "boolean" => (33, 39),
        "undefined" => (90, 39),
        "null" => (1, 22),
        "string" => (32, 39),
        _ => return s.to_string(),
    };
    format!("\u{1b}[{}m{}\u{1b}[{}m", codes.0, s, codes.1)
}

fn format_value(ctx: &mut Ctx, v: &Value, recurse_times: usize) -> String {
    match v {
        Value::Null => stylize(ctx, "null", "null"),
        Value::Bool(b) => stylize(ctx, &b.to_string(), "boolean"),
        Value::Number(n) => stylize(ctx, &number_to_string(number_value(n)), "number"),
        Value::String(s) => format_string(ctx, s),
        Value::Array(items) => {
            if items.is_empty() {
                return "[]".to_string();
            }
            if ctx.opts.depth.is_some_and(|d| recurse_times > d) {
                return stylize(ctx, "[Array]", "special");
            }
            let recurse_times = recurse_times + 1;
            ctx.current_depth = recurse_times;
            let mut output: Vec<String> = items
                .iter()
                .take(MAX_ARRAY_LENGTH)
                .map(|item| {
                    ctx.indentation += 2;
                    let s = format_value(ctx, item, recurse_times);
                    ctx.indentation -= 2;
                    s
                })
                .collect();
            let hidden = items.len().saturating_sub(MAX_ARRAY_LENGTH);
            if hidden > 0 {
                let plural = if hidden > 1 { "s" } else { "" };
                output.push(format!("... {hidden} more item{plural}"));
            }
            let entries = output.len();
            if entries > 6 {
                output = group_array_elements(ctx, output, items, hidden > 0);
            }
            reduce_to_single_string(ctx, output, ('[', ']'), recurse_times, entries)
        }
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".to_string();
            }
            if ctx.opts.depth.is_some_and(|d| recurse_times > d) {
                return stylize(ctx, "[Object]", "special");
            }
            let recurse_times = recurse_times + 1;
            ctx.current_depth = recurse_times;
            let output: Vec<String> = map
                .iter()
                .map(|(key, item)| {
                    ctx.indentation += 2;
                    let s = format_value(ctx, item, recurse_times);
                    ctx.indentation -= 2;
                    format!("{}: {}", format_key(ctx, key), s)
                })
                .collect();
            let entries = output.len();
            reduce_to_single_string(ctx, output, ('{', '}'), recurse_times, entries)
        }
    }
}

fn format_key(ctx: &Ctx, key: &str) -> String {
    let mut chars = key.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        key.to_string()
    } else {
        stylize(ctx, &str_escape(key), "string")
    }
}

fn format_string(ctx: &Ctx, s: &str) -> String {
    let units = js_length(s);
    if units > MAX_STRING_LENGTH {
        let kept: Vec<u16> = s.encode_utf16().take(MAX_STRING_LENGTH).collect();
        let kept = String::from_utf16_lossy(&kept);
        let more = units - MAX_STRING_LENGTH;
        let plural = if more > 1 { "s" } else { "" };
        return format!(
            "{}... {more} more character{plural}",
            format_string(ctx, &kept)
        );
    }
    let len = units;
    if len > MIN_LINE_WIDTH && len > BREAK_LENGTH.saturating_sub(ctx.indentation + 4) {
        let pieces: Vec<String> = s
            .split_inclusive('\n')
            .map(|piece| stylize(ctx, &str_escape(piece), "string"))
            .collect();
        return pieces.join(&format!(" +\n{}", " ".repeat(ctx.indentation + 2)));
    }
    stylize(ctx, &str_escape(s), "string")
}

/// Node's `strEscape`: single quotes unless the text holds some, then `"` or a backtick.
fn str_escape(s: &str) -> String {
    let quote = if !s.contains('\'') {
        '\''
    } else if !s.contains('"') {
        '"'
    } else if !s.contains('`') && !s.contains("${") {
        '`'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\'' if quote == '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in s.chars() {
        if in_escape {
            in_escape = c != 'm';
        } else if c == '\u{1b}' {
            in_escape = true;
        } else {
            width += 1;
        }
    }
    width
}

/// Node's `groupArrayElements`: lays out more than six short entries in aligned columns.
fn group_array_elements(
    ctx: &Ctx,
    output: Vec<String>,
    items: &[Value],
    has_more: bool,
) -> Vec<String> {
    const SEPARATOR_SPACE: usize = 2;
    let output_length = if has_more {
        output.len() - 1
    } else {
        output.len()
    };
    let data_len: Vec<usize> = output[..output_length]
        .iter()
        .map(|o| visible_width(o))
        .collect();
    let total_length: usize = data_len.iter().map(|l| l + SEPARATOR_SPACE).sum();
    let max_length = data_len.iter().copied().max().unwrap_or(0);
    let actual_max = max_length + SEPARATOR_SPACE;
    if !(actual_max * 3 + ctx.indentation < BREAK_LENGTH
        && (total_length as f64 / actual_max as f64 > 5.0 || max_length <= 6))
    {
        return output;
    }
    let average_bias = (actual_max as f64 - total_length as f64 / output.len() as f64).sqrt();
    let biased_max = (actual_max as f64 - 3.0 - average_bias).max(1.0);
    let columns = [
        ((2.5 * biased_max * output_length as f64).sqrt() / biased_max).round() as usize,
        (BREAK_LENGTH - ctx.indentation) / actual_max,
        COMPACT * 4,
        15,
    ]
    .into_iter()
    .min()
    .unwrap_or(1);
    if columns <= 1 {
        return output;
    }
    let max_line_length: Vec<usize> = (0..columns)
        .map(|i| {
            (i..output_length)
                .step_by(columns)
                .map(|j| data_len[j])
                .max()
                .unwrap_or(0)
                + SEPARATOR_SPACE
        })
        .collect();
    let pad_start = items.iter().take(output_length).all(Value::is_number);
    let pad = |text: String, width: usize, start: bool| -> String {
        let fill = " ".repeat(width.saturating_sub(js_length(&text)));
        if start {
            format!("{fill}{text}")
        } else {
            format!("{text}{fill}")
        }
    };
    let mut grouped = Vec::new();
    for i in (0..output_length).step_by(columns) {
        let max = (i + columns).min(output_length);
        let mut line = String::new();
        for j in i..max - 1 {
            let padding = max_line_length[j - i] + js_length(&output[j]) - data_len[j];
            line.push_str(&pad(format!("{}, ", output[j]), padding, pad_start));
        }
        let j = max - 1;
        if pad_start {
            let padding =
                max_line_length[j - i] + js_length(&output[j]) - data_len[j] - SEPARATOR_SPACE;
            line.push_str(&pad(output[j].clone(), padding, true));
        } else {
            line.push_str(&output[j]);
        }
        grouped.push(line);
    }
    if has_more {
        grouped.push(output[output_length].clone());
    }
    grouped
}

fn reduce_to_single_string(
    ctx: &mut Ctx,
    output: Vec<String>,
    braces: (char, char),
    recurse_times: usize,
    entries: usize,
) -> String {
    if ctx.current_depth - recurse_times < COMPACT && entries == output.len() {
        let start = output.len() + ctx.indentation + 1 + 10;
        let base = output.len() + start;
        let total = base + output.iter().map(|o| visible_width(o)).sum::<usize>();
        if base + output.len() <= BREAK_LENGTH && total <= BREAK_LENGTH {
            let joined = output.join(", ");
            if !joined.contains('\n') {
                return format!("{} {} {}", braces.0, joined, braces.1);
            }
        }
    }
    let indentation = format!("\n{}", " ".repeat(ctx.indentation));
    format!(
        "{}{indentation}  {}{indentation}{}",
        braces.0,
        output.join(&format!(",{indentation}  ")),
        braces.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PLAIN: InspectOptions = InspectOptions {
        depth: None,
        colors: false,
    };

    #[test]
    fn short_objects_stay_on_one_line() {
        let v = json!({"a": 1, "b-c": "it's", "d": [true, null]});
        assert_eq!(
            inspect(&v, PLAIN),
            r#"{ a: 1, 'b-c': "it's", d: [ true, null ] }"#
        );
    }

    #[test]
    fn depth_limit_hides_nested_values() {
        let v = json!({"a": {"b": 1}, "c": []});
        let opts = InspectOptions {
            depth: Some(0),
            colors: false,
        };
        assert_eq!(inspect(&v, opts), "{ a: [Object], c: [] }");
    }

    #[test]
    fn deep_nesting_breaks_lines() {
        let v = json!({"a": {"b": {"c": {"d": 1}}}});
        assert_eq!(inspect(&v, PLAIN), "{\n  a: { b: { c: { d: 1 } } }\n}");
    }
}
