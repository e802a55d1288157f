//! `stint init` and the hidden `stint hook` it installs.

use std::path::Path;

use stint_client::hook::{HookEntry, Shell};

use crate::cli::ShellName;

/// Prints the hook script for `shell`.
pub(crate) fn init(shell: ShellName, data_dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    let shell = match shell {
        ShellName::Bash => Shell::Bash,
        ShellName::Zsh => Shell::Zsh,
        ShellName::Fish => Shell::Fish,
    };
    let exe = std::env::current_exe()?;
    // A relative --data-dir would follow the shell from folder to folder.
    let data_dir = data_dir.map(std::path::absolute).transpose()?;
    print!(
        "{}",
        stint_client::hook::script(shell, &exe, data_dir.as_deref())
    );
    Ok(())
}

/// Records one command the shell ran (see `stint_client::hook`).
pub(crate) fn hook(
    dir: &Path,
    cwd: String,
    session: Option<String>,
    command: &[String],
) -> anyhow::Result<()> {
    let entry = HookEntry {
        command: command.join(" "),
        cwd,
        session: session.filter(|s| !s.is_empty()),
    };
    Ok(stint_client::hook::record(dir, &entry)?)
}
