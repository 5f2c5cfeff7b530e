//! Writes `DIR/bin/<command>` wrappers and `DIR/env.sh` for a simulated datacenter.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

use crate::COMMANDS;

/// What the collector keeps free on the disk of a simulated datacenter (see `env.sh`).
pub const SIM_MIN_FREE: &str = "1MiB";

/// Writes one `#!/bin/sh` wrapper per fake command into `dir/bin/` (mode 0755), each running
/// `fake_exe <command> "$@"` with `TRITON_SIM_DIR` set to `dir`, and `dir/env.sh`, which puts
/// `dir/bin` first on PATH. Both paths are made absolute so the wrappers work from anywhere.
pub fn install(dir: &Path, fake_exe: &Path) -> anyhow::Result<()> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    let dir =
        std::fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let exe = std::fs::canonicalize(fake_exe)
        .with_context(|| format!("cannot resolve fake command binary {}", fake_exe.display()))?;
    let dir_text = path_text(&dir)?;
    let exe_text = path_text(&exe)?;
    for command in COMMANDS {
        let script = format!(
            "#!/bin/sh\n# Fake `{command}` of the simulated Triton datacenter in this directory.\n\
             TRITON_SIM_DIR={} exec {} {command} \"$@\"\n",
            sh_quote(dir_text),
            sh_quote(exe_text)
        );
        write_executable(&dir.join("bin").join(command), &script)?;
    }
    let env = format!(
        "# Environment of a simulated Triton datacenter: after `. {}/env.sh`, the fake Triton and\n\
         # SmartOS commands in bin/ (sdc-vmapi, sdc-oneachnode, vmadm, zfs, ...) come first on PATH\n\
         # and answer as this datacenter's headnode. Set TRITON_SIM_HOST=<server uuid> to answer\n\
         # as a compute node instead.\n\
         TRITON_SIM_DIR={}\nexport TRITON_SIM_DIR\nPATH={}:\"$PATH\"\nexport PATH\n\
         # The simulated hosts write to this machine's own disk, not a production zones pool: the\n\
         # collector keeps {SIM_MIN_FREE} free here instead of its reserve (5% or 512 MiB).\n\
         TRITON_COLLECT_MIN_FREE_BYTES={SIM_MIN_FREE}\nexport TRITON_COLLECT_MIN_FREE_BYTES\n",
        dir_text,
        sh_quote(dir_text),
        sh_quote(&format!("{dir_text}/bin")),
    );
    let env_path = dir.join("env.sh");
    std::fs::write(&env_path, env).with_context(|| format!("cannot write {}", env_path.display()))
}

fn write_executable(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

fn path_text(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("path is not UTF-8: {}", path.display()))
}

/// Quotes a word for POSIX sh with single quotes.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::sh_quote;

    #[test]
    fn quotes_single_quotes() {
        assert_eq!(sh_quote("a'b"), "'a'\\''b'");
    }
}
