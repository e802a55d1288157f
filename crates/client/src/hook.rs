//! The shell hook: every command a shell runs, with its working directory,
//! recorded into the active session.
//!
//! The hook runs after each command, so it must not be noticed: it never
//! opens the replica (which another process may hold, and whose opening
//! costs more than a prompt can wait). [`record`] appends one JSON line to
//! `hook.spool` in the data directory and nudges the agent when one runs;
//! the replica's owner drains the spool into sessions (the agent at once,
//! otherwise the next `stint` command, before it does anything else).
//!
//! The spool is guarded by `flock`: writers hold a shared lock for their
//! one append, the drainer an exclusive lock while it reads, applies and
//! empties the file, so no line is lost between the read and the
//! truncation. A crash of the drainer after applying but before truncating
//! applies those lines again: history lines may repeat, none is lost.
//!
//! Which session is active: the one named by `$STINT_SESSION` (an id or its
//! first characters), else the active session whose workspace folder holds
//! the command's working directory (the deepest one; the most recently
//! changed among equals). A command with no active session is dropped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

const SPOOL: &str = "hook.spool";

/// One command a shell ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEntry {
    /// The command line, as typed.
    pub command: String,
    /// The working directory after it ran.
    pub cwd: String,
    /// The session it belongs to (`$STINT_SESSION`), else the session of
    /// the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl HookEntry {
    /// Whether the entry is worth keeping: commands typed with a leading
    /// space are private by shell convention (`HISTCONTROL=ignorespace`).
    #[must_use]
    pub fn is_recorded(&self) -> bool {
        !self.command.trim().is_empty() && !self.command.starts_with(' ')
    }
}

fn spool_path(dir: &Path) -> PathBuf {
    dir.join(SPOOL)
}

/// Appends `entry` to the spool of the device in `dir` and nudges its agent
/// if one runs. Cheap: one append, one connection attempt, no replica.
pub fn record(dir: &Path, entry: &HookEntry) -> Result<()> {
    if !entry.is_recorded() {
        return Ok(());
    }
    let fail = |e: std::io::Error| {
        ClientError::Profile(format!("recording into {}: {e}", spool_path(dir).display()))
    };
    // Scrubbed before it touches the disk: the spool is a file too.
    let entry = HookEntry {
        command: crate::scrub::scrub(&entry.command),
        ..entry.clone()
    };
    let mut line = serde_json::to_vec(&entry).expect("an entry serializes");
    line.push(b'\n');
    let mut file = open_spool(dir).map_err(fail)?;
    file.lock_shared().map_err(fail)?;
    // One write of the whole line, at the end (O_APPEND): concurrent
    // hooks never interleave inside a line.
    file.write_all(&line).map_err(fail)?;
    drop(file);
    crate::local::nudge(dir);
    Ok(())
}

fn open_spool(dir: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(spool_path(dir))
}

/// Takes every complete line of the spool, hands the entries to `apply`,
/// and empties the spool if `apply` succeeded. Lines that do not parse are
/// skipped with a warning rather than blocking every later command.
pub(crate) async fn drain(
    dir: &Path,
    apply: impl AsyncFnOnce(Vec<HookEntry>) -> Result<()>,
) -> Result<usize> {
    let path = spool_path(dir);
    // Nothing spooled (the common case): one stat, no lock.
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > 0 => {}
        _ => return Ok(0),
    }
    let fail =
        |e: std::io::Error| ClientError::Profile(format!("draining {}: {e}", path.display()));
    let mut file = open_spool(dir).map_err(fail)?;
    file.lock().map_err(fail)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(fail)?;
    // Writers hold the shared lock for their whole append, so every line
    // is complete; a line without its newline could only come from a
    // writer that died mid-write, and is dropped with the rest.
    let entries: Vec<HookEntry> = bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(|line| match serde_json::from_slice(line) {
            Ok(entry) => Some(entry),
            Err(e) => {
                tracing::warn!("skipping a damaged line of {}: {e}", path.display());
                None
            }
        })
        .collect();
    let count = entries.len();
    apply(entries).await?;
    file.set_len(0).map_err(fail)?;
    file.rewind().map_err(fail)?;
    Ok(count)
}

/// The shells `stint init` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// GNU bash (through `PROMPT_COMMAND`).
    Bash,
    /// zsh (through `preexec` and `precmd`).
    Zsh,
    /// fish (through the `fish_postexec` event).
    Fish,
}

/// The hook script for `shell`, calling `exe` (with `--data-dir data_dir`
/// when one was given, so that the hook records into the same device).
#[must_use]
pub fn script(shell: Shell, exe: &Path, data_dir: Option<&Path>) -> String {
    let mut call = quote(&exe.to_string_lossy());
    if let Some(dir) = data_dir {
        call.push_str(" --data-dir ");
        call.push_str(&quote(&dir.to_string_lossy()));
    }
    let template = match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
    };
    template.replace("__STINT__", &call)
}

/// Single-quotes `s` for any of the three shells.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

const BASH: &str = r#"# Stint: record each command and its directory into the active session.
# Load it with:  eval "$(stint init bash)"
__stint_last=$(HISTTIMEFORMAT= builtin history 1)
__stint_hook() {
  local status=$? entry
  entry=$(HISTTIMEFORMAT= builtin history 1)
  if [[ -n $entry && $entry != "$__stint_last" ]]; then
    __stint_last=$entry
    if [[ $entry =~ ^[[:space:]]*[0-9]+[*]?[[:space:]][[:space:]]?(.*)$ ]]; then
      __STINT__ hook --cwd "$PWD" -- "${BASH_REMATCH[1]}" </dev/null >/dev/null 2>&1
    fi
  fi
  return $status
}
if [[ ";${PROMPT_COMMAND[*]:-};" != *";__stint_hook;"* ]]; then
  PROMPT_COMMAND="__stint_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
"#;

const ZSH: &str = r#"# Stint: record each command and its directory into the active session.
# Load it with:  eval "$(stint init zsh)"
autoload -Uz add-zsh-hook
__stint_preexec() { __stint_command=$1 }
__stint_precmd() {
  local s=$?
  if [[ -n ${__stint_command-} ]]; then
    __STINT__ hook --cwd "$PWD" -- "$__stint_command" </dev/null >/dev/null 2>&1
    unset __stint_command
  fi
  return $s
}
add-zsh-hook preexec __stint_preexec
add-zsh-hook precmd __stint_precmd
"#;

const FISH: &str = r#"# Stint: record each command and its directory into the active session.
# Load it with:  stint init fish | source
function __stint_postexec --on-event fish_postexec
    __STINT__ hook --cwd "$PWD" -- $argv[1] </dev/null >/dev/null 2>&1
end
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(command: &str, recorded: bool) {
        let entry = HookEntry {
            command: command.into(),
            cwd: "/w".into(),
            session: None,
        };
        assert_eq!(entry.is_recorded(), recorded, "{command:?}");
    }

    #[test]
    fn private_and_empty_commands_are_not_recorded() {
        check("cargo test", true);
        check("  ", false);
        check("", false);
        check(" export TOKEN=x", false);
    }

    #[test]
    fn the_script_quotes_paths_with_spaces_and_quotes() {
        let s = script(
            Shell::Bash,
            Path::new("/opt/my tools/stint"),
            Some(Path::new("/home/o'neil/.stint")),
        );
        assert!(
            s.contains(r"'/opt/my tools/stint' --data-dir '/home/o'\''neil/.stint' hook"),
            "{s}"
        );
        assert!(!s.contains("__STINT__"));
    }

    #[tokio::test]
    async fn spooled_entries_are_drained_once() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |c: &str| HookEntry {
            command: c.into(),
            cwd: "/w".into(),
            session: None,
        };
        record(dir.path(), &entry("make")).unwrap();
        record(dir.path(), &entry(" secret")).unwrap();
        record(dir.path(), &entry("make test")).unwrap();
        let mut seen = Vec::new();
        let n = drain(dir.path(), async |entries| {
            seen = entries;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(seen, vec![entry("make"), entry("make test")]);
        let again = drain(dir.path(), async |_| panic!("nothing is left"))
            .await
            .unwrap();
        assert_eq!(again, 0);
    }

    #[tokio::test]
    async fn a_failed_apply_keeps_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let entry = HookEntry {
            command: "ls".into(),
            cwd: "/w".into(),
            session: None,
        };
        record(dir.path(), &entry).unwrap();
        let failed = drain(dir.path(), async |_| {
            Err(ClientError::Profile("disk full".into()))
        })
        .await;
        assert!(failed.is_err());
        let mut seen = Vec::new();
        drain(dir.path(), async |entries| {
            seen = entries;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(seen, vec![entry]);
    }
}
