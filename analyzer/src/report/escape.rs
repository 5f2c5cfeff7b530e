//! Quoting untrusted log text so it renders as text on GitHub and JIRA: nothing in a bundle may
//! close our code blocks, inject HTML, make links or mention people.

/// Escapes text for a markdown paragraph or table cell (one line).
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '(' => out.push_str("\\("),
            ')' => out.push_str("\\)"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("\\*"),
            '_' => out.push_str("\\_"),
            '~' => out.push_str("\\~"),
            '#' => out.push_str("\\#"),
            '!' => out.push_str("\\!"),
            // GitHub and JIRA look for mentions in the rendered text, where an entity is `@`
            // again; a zero-width space after it leaves no `@name` to find.
            '@' => out.push_str("@\u{200B}"),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Inline code for identifiers we produced ourselves (uuids, task names): backtick-quoted, with
/// a fence longer than any backtick run inside.
pub fn code(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let fence = "`".repeat(longest_backtick_run(&clean) + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if c == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

/// A fenced code block whose fence is longer than any backtick run in the text, so the text can
/// never end the block. Control characters are replaced.
pub fn fenced(lang: &str, text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    let fence = "`".repeat(longest_backtick_run(&clean).max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", clean.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inline_text() {
        let t = inline(
            "x | <script>alert(1)</script> [x](javascript:alert(1)) @here `code` </details>",
        );
        assert!(!t.contains("<script>"));
        assert!(!t.contains("</details>"));
        assert!(!t.contains("](javascript"));
        assert!(!t.contains("@here"));
        assert!(!t.contains(" | "));
        assert!(!t.contains('`'));
    }

    #[test]
    fn fence_is_longer_than_content_runs() {
        let f = fenced("text", "before\n```\nmarkdown here\n````\nafter");
        assert!(f.starts_with("`````text\n"));
        assert!(f.ends_with("\n`````\n"));
        let c = code("a`b");
        assert_eq!(c, "``a`b``");
    }
}
