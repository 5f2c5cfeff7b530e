//! The path-rewriting "chroot" a command runs in on a simulated node.
//!
//! Every absolute path in the command (a shell word starting with `/`, or the value of a
//! `--flag=/path` word) is prefixed with the node's tree `DIR/<host.root>`, so `cat /etc/motd`
//! reads `DIR/cn/<uuid>/etc/motd`. The command text is edited in place (operators, quoting, globs
//! and variables stay as written), so pipes and redirections keep working. Exceptions, so the
//! command can still run: device paths such as `/dev/null`; a fake command named by its SmartOS
//! path (`/usr/sbin/zfs`) runs the fake in `DIR/bin`; a system tool named by path
//! (`/usr/bin/tail`) that the node's tree lacks runs from this machine.

use std::path::Path;

use crate::install::sh_quote;
use crate::COMMANDS;

/// Directories where SmartOS keeps the commands the fake provides or the system tools.
const TOOL_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/opt/smartdc/bin",
    "/usr/vm/sbin",
];

/// Device paths that mean the same on every host.
const SHARED_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/stdin",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
];

/// Rewrites the absolute paths of `command` into the tree at `root`; `bin` is `DIR/bin`.
pub fn rewrite(command: &str, root: &Path, bin: &Path) -> String {
    let root_text = root.to_string_lossy();
    let root_text = root_text.trim_end_matches('/');
    let chars: Vec<(usize, char)> = command.char_indices().collect();
    let mut out = String::with_capacity(command.len() + 64);
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if c.is_whitespace() || is_operator(c) {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i].1 != '\n' {
                i += 1;
            }
            continue;
        }
        let word = scan_word(&chars, &mut i);
        let end = chars.get(i).map_or(command.len(), |&(p, _)| p);
        let Some((at, ctx)) = path_start(&word.logical) else {
            continue;
        };
        let path: String = word
            .logical
            .iter()
            .skip_while(|&&(_, p, _)| p < at)
            .map(|&(ch, _, _)| ch)
            .collect();
        let whole_word_is_path = at == word.start && !word.dynamic;
        if whole_word_is_path && is_shared_device(&path) {
            continue;
        }
        if whole_word_is_path && !root.join(path.trim_start_matches('/')).exists() {
            if let Some(tool) = fake_tool(&path) {
                out.push_str(&command[copied..word.start]);
                out.push_str(&sh_quote(&bin.join(tool).to_string_lossy()));
                copied = end;
                continue;
            }
            if is_system_tool(&path) {
                continue;
            }
        }
        out.push_str(&command[copied..at]);
        out.push_str(&quoted_prefix(root_text, ctx));
        copied = at;
    }
    out.push_str(&command[copied..]);
    out
}

/// The quoting in effect where a prefix is inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Plain,
    Single,
    Double,
}

/// Turns paths inside the node's tree back into the node's own paths in command output, so
/// `ls: cannot access 'DIR/cn/<uuid>/x'` reads `ls: cannot access '/x'` as on the real node.
pub fn unrewrite(text: &str, root: &Path) -> String {
    let root_text = root.to_string_lossy();
    let root_text = root_text.trim_end_matches('/');
    if root_text.is_empty() || !text.contains(root_text) {
        return text.to_string();
    }
    text.replace(&format!("{root_text}/"), "/")
        .replace(root_text, "/")
}

/// One shell word: its characters after quote removal, each with the byte offset where a prefix
/// may be inserted before it (the opening quote for the first character of a quoted part) and the
/// quoting in effect there.
struct Word {
    start: usize,
    logical: Vec<(char, usize, Ctx)>,
    /// Contains `$` or a backquote: its final text is only known to the shell.
    dynamic: bool,
}

fn scan_word(chars: &[(usize, char)], i: &mut usize) -> Word {
    let start = chars[*i].0;
    let mut logical = Vec::new();
    let mut dynamic = false;
    while *i < chars.len() {
        let (pos, c) = chars[*i];
        match c {
            c if c.is_whitespace() || is_operator(c) => break,
            '\'' | '"' => {
                let quote = c;
                let inside = if quote == '"' {
                    Ctx::Double
                } else {
                    Ctx::Single
                };
                let (mut insert_at, mut ctx) = (pos, Ctx::Plain);
                *i += 1;
                while *i < chars.len() && chars[*i].1 != quote {
                    let ch = chars[*i].1;
                    if quote == '"' && ch == '\\' && *i + 1 < chars.len() {
                        *i += 1;
                        logical.push((chars[*i].1, insert_at, ctx));
                    } else {
                        dynamic |= quote == '"' && (ch == '$' || ch == '`');
                        logical.push((ch, insert_at, ctx));
                    }
                    *i += 1;
                    if let Some(&(q, _)) = chars.get(*i) {
                        (insert_at, ctx) = (q, inside);
                    }
                }
                *i += 1;
            }
            '\\' => {
                if *i + 1 < chars.len() {
                    logical.push((chars[*i + 1].1, pos, Ctx::Plain));
                }
                *i += 2;
            }
            '$' if chars.get(*i + 1).is_some_and(|&(_, n)| n == '(') => {
                dynamic = true;
                let mut depth = 0;
                while *i < chars.len() {
                    let (p, ch) = chars[*i];
                    logical.push((ch, p, Ctx::Plain));
                    *i += 1;
                    match ch {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                dynamic |= c == '$' || c == '`';
                logical.push((c, pos, Ctx::Plain));
                *i += 1;
            }
        }
    }
    Word {
        start,
        logical,
        dynamic,
    }
}

/// Where the absolute path of a word begins: the word itself, or the value of `--flag=/path`.
fn path_start(logical: &[(char, usize, Ctx)]) -> Option<(usize, Ctx)> {
    match logical.first() {
        Some(&('/', at, ctx)) => Some((at, ctx)),
        Some(&('-', _, _)) => {
            let eq = logical.iter().position(|&(c, _, _)| c == '=')?;
            match logical.get(eq + 1) {
                Some(&('/', at, ctx)) => Some((at, ctx)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The prefix text that, inserted where the quoting is `ctx`, adds `root` to the word.
fn quoted_prefix(root: &str, ctx: Ctx) -> String {
    match ctx {
        Ctx::Plain => sh_quote(root),
        Ctx::Single => format!("'{}'", sh_quote(root)),
        Ctx::Double => root.chars().fold(String::new(), |mut s, c| {
            if matches!(c, '"' | '\\' | '$' | '`') {
                s.push('\\');
            }
            s.push(c);
            s
        }),
    }
}

fn is_operator(c: char) -> bool {
    matches!(c, '|' | '&' | ';' | '<' | '>' | '(' | ')')
}

fn is_shared_device(path: &str) -> bool {
    SHARED_DEVICES.contains(&path) || path.starts_with("/dev/fd/")
}

fn split_tool_path(path: &str) -> Option<(&str, &str)> {
    let (dir, name) = path.rsplit_once('/')?;
    let dir = if dir.is_empty() { "/" } else { dir };
    TOOL_DIRS.contains(&dir).then_some((dir, name))
}

/// The fake command a SmartOS tool path stands for (`/usr/sbin/zfs` → `zfs`).
fn fake_tool(path: &str) -> Option<&str> {
    split_tool_path(path)
        .map(|(_, name)| name)
        .filter(|name| COMMANDS.contains(name))
}

/// A system tool path (`/usr/bin/tail`) that exists on this machine.
fn is_system_tool(path: &str) -> bool {
    split_tool_path(path).is_some() && Path::new(path).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(cmd: &str) -> String {
        rewrite(cmd, Path::new("/sim/cn/u1"), Path::new("/sim/bin"))
    }

    #[test]
    fn plain_and_flag_paths() {
        assert_eq!(rw("cat /etc/motd"), "cat '/sim/cn/u1'/etc/motd");
        assert_eq!(
            rw("tool --root=/ --out /var/tmp/x"),
            "tool --root='/sim/cn/u1'/ --out '/sim/cn/u1'/var/tmp/x"
        );
    }

    #[test]
    fn keeps_operators_quotes_and_globs() {
        assert_eq!(
            rw("ls /var/log/*.log | head -n 2 >/tmp/out 2>/dev/null && echo 'a b'"),
            "ls '/sim/cn/u1'/var/log/*.log | head -n 2 >'/sim/cn/u1'/tmp/out 2>/dev/null && echo 'a b'"
        );
        assert_eq!(rw("cat '/var/x y'"), "cat '/sim/cn/u1''/var/x y'");
        assert_eq!(
            rw("echo relative/path # /not/this"),
            "echo relative/path # /not/this"
        );
        assert_eq!(
            rw("x \"--out=/a b\" '--in=/c'"),
            "x \"--out=/sim/cn/u1/a b\" '--in=''/sim/cn/u1''/c'"
        );
    }

    #[test]
    fn output_paths_map_back() {
        let root = Path::new("/sim/cn/u1");
        assert_eq!(
            unrewrite("ls: cannot access '/sim/cn/u1/x': No such file", root),
            "ls: cannot access '/x': No such file"
        );
        assert_eq!(unrewrite("/sim/cn/u1", root), "/");
    }

    #[test]
    fn fake_tools_by_path() {
        assert_eq!(
            rw("/usr/sbin/zfs list -t all"),
            "'/sim/bin/zfs' list -t all"
        );
    }
}
