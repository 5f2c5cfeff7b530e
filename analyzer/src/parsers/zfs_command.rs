//! The `zfs` command lines `zpool history` records (illumos `zfs(1M)`; the history stores the
//! command line as it was typed, logged once the command succeeded).
//!
//! ```text
//! zfs receive zones/f9e4be48-9466-11e1-bc41-9f993f5dff36-partial
//! zfs rename zones/f9e4be48-9466-11e1-bc41-9f993f5dff36-partial zones/f9e4be48-9466-11e1-bc41-9f993f5dff36
//! zfs clone -F -o quota=5g zones/f9e4be48-9466-11e1-bc41-9f993f5dff36@final zones/9185c581-2252-ef4a-8b18-f8787d77e61b
//! zfs destroy -r zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial
//! ```
//!
//! `zpool history -l` appends ` [user <uid> (<name>) on <host>:<zone>]`; `-i` adds
//! `[internal ...]` / `[txg:...]` records, which are not `zfs` command lines.

/// What one recorded command did to which dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZfsOp {
    /// `zfs receive [opts] <target>` (also `recv`).
    Receive { target: String },
    /// `zfs rename [opts] <from> <to>`.
    Rename { from: String, to: String },
    /// `zfs destroy [opts] <target>`.
    Destroy { target: String },
    /// `zfs clone [opts] <snapshot> <target>`.
    Clone { snapshot: String, target: String },
    /// `zfs create [opts] <target>`.
    Create { target: String },
    /// Anything else (`zfs set`, `zfs snapshot`, `zpool ...`, internal records).
    Other,
}

/// Options that take a value, per subcommand: the next word is the value, not a dataset.
fn takes_value(subcommand: &str, flag: char) -> bool {
    match subcommand {
        "receive" | "recv" => matches!(flag, 'o' | 'x'),
        "clone" => flag == 'o',
        "create" => matches!(flag, 'o' | 'b' | 'V'),
        _ => false,
    }
}

/// Drops what `zpool history -l` appends (` [user 0 (root) on cn1:global]`).
fn without_suffix(command: &str) -> &str {
    let trimmed = command.trim_end();
    if trimmed.ends_with(']') {
        if let Some(at) = trimmed.rfind(" [user ") {
            return trimmed[..at].trim_end();
        }
    }
    trimmed
}

/// The dataset operands of a `zfs <subcommand>` line, options and their values left out.
fn operands<'a>(subcommand: &str, words: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for word in words {
        if skip_value {
            skip_value = false;
            continue;
        }
        if let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) {
            // `-o quota=5g` takes the next word; `-oquota=5g` carries its value.
            let mut chars = flags.chars();
            while let Some(flag) = chars.next() {
                if takes_value(subcommand, flag) {
                    skip_value = chars.as_str().is_empty();
                    break;
                }
            }
            continue;
        }
        out.push(word);
    }
    out
}

/// Reads one recorded command line.
pub fn parse(command: &str) -> ZfsOp {
    let line = without_suffix(command);
    let mut words = line.split_whitespace();
    if words.next() != Some("zfs") {
        return ZfsOp::Other;
    }
    let Some(subcommand) = words.next() else {
        return ZfsOp::Other;
    };
    let args = operands(subcommand, words);
    match (subcommand, args.len()) {
        ("receive" | "recv", 1) => ZfsOp::Receive {
            target: args[0].to_string(),
        },
        ("rename", 2) => ZfsOp::Rename {
            from: args[0].to_string(),
            to: args[1].to_string(),
        },
        ("destroy", 1) => ZfsOp::Destroy {
            target: args[0].to_string(),
        },
        ("clone", 2) => ZfsOp::Clone {
            snapshot: args[0].to_string(),
            target: args[1].to_string(),
        },
        ("create", 1) => ZfsOp::Create {
            target: args[0].to_string(),
        },
        _ => ZfsOp::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMG: &str = "f9e4be48-9466-11e1-bc41-9f993f5dff36";

    #[test]
    fn the_guides_import_and_clone() {
        assert_eq!(
            parse(&format!("zfs receive zones/{IMG}-partial")),
            ZfsOp::Receive {
                target: format!("zones/{IMG}-partial")
            }
        );
        assert_eq!(
            parse(&format!("zfs rename zones/{IMG}-partial zones/{IMG}")),
            ZfsOp::Rename {
                from: format!("zones/{IMG}-partial"),
                to: format!("zones/{IMG}")
            }
        );
        assert_eq!(
            parse(&format!(
                "zfs clone -F -o quota=5g zones/{IMG}@final zones/9185c581-2252-ef4a-8b18-f8787d77e61b"
            )),
            ZfsOp::Clone {
                snapshot: format!("zones/{IMG}@final"),
                target: "zones/9185c581-2252-ef4a-8b18-f8787d77e61b".into()
            }
        );
    }

    #[test]
    fn options_and_the_user_suffix_are_not_datasets() {
        assert_eq!(
            parse(&format!(
                "zfs destroy -r zones/{IMG}-partial [user 0 (root) on cn1:global]"
            )),
            ZfsOp::Destroy {
                target: format!("zones/{IMG}-partial")
            }
        );
        assert_eq!(
            parse(&format!(
                "zfs recv -F -o origin=zones/x@final zones/{IMG}-partial"
            )),
            ZfsOp::Receive {
                target: format!("zones/{IMG}-partial")
            }
        );
        assert_eq!(
            parse("zfs create -o canmount=noauto -o quota=10g zones/vm1"),
            ZfsOp::Create {
                target: "zones/vm1".into()
            }
        );
        assert_eq!(
            parse("zfs create -ps -b 8192 -V 10g zones/vm1-disk0"),
            ZfsOp::Create {
                target: "zones/vm1-disk0".into()
            }
        );
        assert_eq!(
            parse("zfs rename -r zones/a@old zones/a@final"),
            ZfsOp::Rename {
                from: "zones/a@old".into(),
                to: "zones/a@final".into()
            }
        );
    }

    #[test]
    fn other_records_are_other() {
        assert_eq!(
            parse("zpool create -f zones mirror c0t0d0 c0t1d0"),
            ZfsOp::Other
        );
        assert_eq!(parse("zfs set quota=10g zones/vm1"), ZfsOp::Other);
        assert_eq!(parse("[internal create txg:5] dataset = 21"), ZfsOp::Other);
        assert_eq!(parse("zfs"), ZfsOp::Other);
        assert_eq!(parse("zfs receive"), ZfsOp::Other);
    }
}
