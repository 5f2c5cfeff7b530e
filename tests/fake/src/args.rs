//! A small getopt-style parser shared by the fake commands.
//!
//! Each real tool parses differently (illumos getopt stops at the first operand, node's nopt and
//! dashdash can intersperse options), so the caller says which behaviour it wants.

/// One option a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// Short letter (`'H'` for `-H`); `'\0'` for a long-only option.
    pub short: char,
    /// Long name without dashes (`"no-headers"`); empty for a short-only option.
    pub long: &'static str,
    /// Whether it takes a value (`-o cols`, `-ocols`, `--output=cols`, `--output cols`).
    pub takes_value: bool,
}

impl Opt {
    pub const fn flag(short: char) -> Opt {
        Opt {
            short,
            long: "",
            takes_value: false,
        }
    }

    pub const fn value(short: char) -> Opt {
        Opt {
            short,
            long: "",
            takes_value: true,
        }
    }

    pub const fn long(self, long: &'static str) -> Opt {
        Opt { long, ..self }
    }

    /// Canonical key: the short letter, or the long name for long-only options.
    fn key(&self) -> String {
        if self.short != '\0' {
            self.short.to_string()
        } else {
            self.long.to_string()
        }
    }
}

/// Options and operands in command-line order.
#[derive(Debug, Default)]
pub struct Parsed {
    pub opts: Vec<(String, Option<String>)>,
    pub operands: Vec<String>,
}

impl Parsed {
    /// Whether a flag was given (by short letter or long-only name).
    pub fn has(&self, key: &str) -> bool {
        self.opts.iter().any(|(k, _)| k == key)
    }

    /// The last value of an option.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Parses `args`. With `interspersed`, options may follow operands; otherwise the first operand
/// ends option parsing (as illumos getopt). `--` always ends options. Errors are short messages
/// in getopt style (`illegal option -- x`).
pub fn parse(args: &[String], spec: &[Opt], interspersed: bool) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let opt = spec
                .iter()
                .find(|o| !o.long.is_empty() && o.long == name)
                .ok_or_else(|| format!("unknown option: --{name}"))?;
            let value = if opt.takes_value {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| format!("option requires an argument -- {name}"))?;
                        i += 1;
                        Some(v.clone())
                    }
                }
            } else {
                None
            };
            parsed.opts.push((opt.key(), value));
            continue;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            let letters: Vec<char> = arg[1..].chars().collect();
            let mut j = 0;
            while j < letters.len() {
                let c = letters[j];
                j += 1;
                let opt = spec
                    .iter()
                    .find(|o| o.short == c)
                    .ok_or_else(|| format!("illegal option -- {c}"))?;
                if opt.takes_value {
                    let rest: String = letters[j..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        let v = args
                            .get(i)
                            .ok_or_else(|| format!("option requires an argument -- {c}"))?;
                        i += 1;
                        v.clone()
                    };
                    parsed.opts.push((opt.key(), Some(value)));
                    break;
                }
                parsed.opts.push((opt.key(), None));
            }
            continue;
        }
        if interspersed {
            parsed.operands.push(arg.clone());
        } else {
            parsed.operands.extend(args[i - 1..].iter().cloned());
            break;
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const SPEC: &[Opt] = &[
        Opt::flag('H'),
        Opt::flag('p'),
        Opt::value('o').long("output"),
    ];

    #[test]
    fn clusters_values_and_operands() {
        let p = parse(
            &strings(&["-Hp", "-oname,used", "zones", "-H"]),
            SPEC,
            false,
        )
        .unwrap();
        assert!(p.has("H") && p.has("p"));
        assert_eq!(p.value("o"), Some("name,used"));
        assert_eq!(p.operands, strings(&["zones", "-H"]));
    }

    #[test]
    fn interspersed_and_long() {
        let p = parse(&strings(&["a", "--output=x", "b", "-o", "y"]), SPEC, true).unwrap();
        assert_eq!(p.operands, strings(&["a", "b"]));
        assert_eq!(p.value("o"), Some("y"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&strings(&["-x"]), SPEC, false).unwrap_err(),
            "illegal option -- x"
        );
        assert!(parse(&strings(&["-o"]), SPEC, false).is_err());
    }
}
