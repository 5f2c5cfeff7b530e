//! `completions SHELL` and `man` for both binaries, generated from the same clap definitions
//! that parse their command lines, so the shell completions and man pages cannot drift from
//! `--help`.

use std::ffi::OsString;
use std::io::{self, Write};

use clap_complete::Shell;

/// Makes a bug end as one line that says what to do, instead of Rust's panic banner. The word
/// "panicked" stays in it: test harnesses look for it. `RUST_BACKTRACE` still gets the default
/// report with its backtrace.
pub fn install_panic_hook(program: &'static str) {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "{program}: internal error (panicked{place}: {message}); please report it with the \
             command line and, if you can, the input"
        );
    }));
}

/// `--version` text: the program's version and the bundle format version it writes or reads,
/// which is what decides whether a bundle and an analyzer fit together.
pub fn version_text(program_version: &str, bundle_format: &str) -> String {
    format!("{program_version} (bundle format {bundle_format})")
}

/// The documentation commands a binary answers before parsing its own options.
pub const USAGE: &str =
    "completions bash|zsh|fish|elvish|powershell   print a shell completion script\n\
                         man                                            print the man page (roff)";

/// Handles `completions SHELL` or `man` when `args` (without the program name) start with one;
/// returns the exit status, or `None` when `args` are for the binary itself.
pub fn dispatch(args: &[OsString], command: impl FnOnce() -> clap::Command) -> Option<i32> {
    let first = args.first()?.to_str()?;
    let mut out = io::stdout().lock();
    let result = match (first, args.get(1).and_then(|a| a.to_str())) {
        ("completions", Some(shell)) => match shell.parse::<Shell>() {
            Ok(shell) => completions(shell, command(), &mut out),
            Err(_) => return Some(usage_error(&format!("unknown shell {shell:?}"))),
        },
        ("completions", None) => return Some(usage_error("completions needs a shell")),
        ("man", None) => man(command(), &mut out),
        _ => return None,
    };
    Some(match result {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error writing output: {e}");
            1
        }
    })
}

fn usage_error(what: &str) -> i32 {
    eprintln!("error: {what}\n\nusage:\n  {}", USAGE.replace('\n', "\n  "));
    2
}

/// Writes the completion script of `command` for `shell`.
pub fn completions(
    shell: Shell,
    mut command: clap::Command,
    out: &mut dyn Write,
) -> io::Result<()> {
    let name = command.get_name().to_string();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut buf);
    out.write_all(&buf)
}

/// Writes the man page of `command` and, after it, one for each subcommand (`triton-analyze
/// logs` has its own options).
pub fn man(command: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let command = command.disable_help_subcommand(true);
    clap_mangen::Man::new(command.clone()).render(out)?;
    for sub in command.get_subcommands() {
        let name = format!("{}-{}", command.get_name(), sub.get_name());
        clap_mangen::Man::new(sub.clone().name(name)).render(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> clap::Command {
        clap::Command::new("tool")
            .about("A tool")
            .arg(clap::Arg::new("vm").long("vm").help("the VM"))
            .subcommand(clap::Command::new("logs").arg(clap::Arg::new("level").long("level")))
    }

    #[test]
    fn completions_name_every_option_and_subcommand() {
        let mut out = Vec::new();
        completions(Shell::Bash, sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("--vm") && text.contains("logs") && text.contains("--level"));
    }

    #[test]
    fn man_page_has_a_section_per_command() {
        let mut out = Vec::new();
        man(sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(".TH tool"), "{text}");
        assert!(text.contains(".TH tool-logs"), "{text}");
        assert!(text.contains("the VM"));
    }

    #[test]
    fn other_arguments_are_left_to_the_binary() {
        let args: Vec<OsString> = vec!["--vm".into(), "x".into()];
        assert_eq!(dispatch(&args, sample), None);
        let args: Vec<OsString> = vec!["completions".into(), "nosuchshell".into()];
        assert_eq!(dispatch(&args, sample), Some(2));
    }
}
