//! "Resume": what it takes to bring a workspace back.

use serde::{Deserialize, Serialize};
use stint_model::WorkspaceSession;

use crate::workspace::{Placed, Preflight};

/// A session and the command lines that reopen it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Resume {
    /// The whole session.
    pub session: WorkspaceSession,
    /// How this device's checkout differs from it, and where its cursors
    /// land here.
    pub preflight: Preflight,
    /// Commands that reopen the files at their cursors, per editor, and
    /// return the terminal to its directory.
    pub commands: Vec<OpenCommand>,
}

/// One command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct OpenCommand {
    /// `vscode`, `vim` or `shell`.
    pub tool: String,
    /// The command line.
    pub command: String,
}

/// Quotes a word for POSIX shells when it needs it.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@=,".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Resume {
    /// The resume of `session` in the checkout its `preflight` found
    /// (else where it was started), with the cursors the preflight placed;
    /// a file missing here is not opened.
    #[must_use]
    pub fn of(session: WorkspaceSession, preflight: Preflight) -> Self {
        let root = preflight
            .folder
            .clone()
            .unwrap_or_else(|| session.workspace_path.clone());
        let root = root.trim_end_matches('/');
        let cursor = |i: usize| match preflight.tabs.get(i) {
            Some(p) => (p.line, p.column),
            None => {
                let c = session.editor_state.open_tabs[i].cursor;
                (c.line, c.column)
            }
        };
        let missing = |i: usize| {
            preflight
                .tabs
                .get(i)
                .is_some_and(|p| p.placed == Placed::Missing)
        };
        let mut commands = Vec::new();
        let tabs = &session.editor_state.open_tabs;
        if (0..tabs.len()).any(|i| !missing(i)) {
            // The active tab last, so it ends up in front.
            let active = session.editor_state.active_tab_index;
            let mut order: Vec<usize> = (0..tabs.len())
                .filter(|i| Some(*i) != active && !missing(*i))
                .collect();
            order.extend(active.filter(|i| *i < tabs.len() && !missing(*i)));
            let mut code = vec!["code".to_owned(), quote(root)];
            for i in &order {
                let t = &tabs[*i];
                let (line, column) = cursor(*i);
                code.push("-g".into());
                code.push(quote(&format!("{root}/{}:{line}:{column}", t.file_path)));
            }
            commands.push(OpenCommand {
                tool: "vscode".into(),
                command: code.join(" "),
            });
            let last = *order.last().expect("non-empty");
            let first = &tabs[last];
            let mut vim = format!(
                "vim +{} {}",
                cursor(last).0,
                quote(&format!("{root}/{}", first.file_path))
            );
            for i in &order[..order.len() - 1] {
                vim.push_str(&format!(
                    " {}",
                    quote(&format!("{root}/{}", tabs[*i].file_path))
                ));
            }
            commands.push(OpenCommand {
                tool: "vim".into(),
                command: vim,
            });
        }
        // The terminal's folder, moved into this checkout when it was
        // inside the session's.
        let started = session.workspace_path.trim_end_matches('/');
        let cwd = match &session.terminal_state.cwd {
            Some(cwd) => match std::path::Path::new(cwd).strip_prefix(started) {
                Ok(rel) if rel.as_os_str().is_empty() => root.to_owned(),
                Ok(rel) => format!("{root}/{}", rel.display()),
                Err(_) => cwd.clone(),
            },
            None => root.to_owned(),
        };
        commands.push(OpenCommand {
            tool: "shell".into(),
            command: format!("cd {}", quote(&cwd)),
        });
        Self {
            session,
            preflight,
            commands,
        }
    }
}

/// Whether `program` is a file on `PATH` (or a path that exists), so that
/// a missing editor is said at once instead of failing unseen in a
/// detached shell.
fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

impl crate::device::Device {
    /// Runs the resume command of `tool` (`vscode`, …) for session `id`,
    /// detached, in the workspace folder: what the desktop app's "Open in
    /// editor" does. Returns the command that was started.
    pub async fn open_in_editor(&self, id: &str, tool: &str) -> crate::Result<OpenCommand> {
        let resume = self.resume_session(id).await?;
        let command = resume
            .commands
            .into_iter()
            .find(|c| c.tool == tool)
            .ok_or_else(|| {
                crate::ClientError::NotFound(format!(
                    "session {} has nothing to open in {tool} (no open files)",
                    resume.session.name
                ))
            })?;
        let program = command.command.split(' ').next().unwrap_or_default();
        if !on_path(program) {
            return Err(crate::ClientError::Rejected(format!(
                "`{program}` is not installed or not on PATH"
            )));
        }
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command.command)
            .current_dir(&resume.session.workspace_path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| crate::ClientError::Rejected(format!("cannot start {program}: {e}")))?;
        // Reaped when it ends, so no zombie is left behind.
        std::thread::spawn(move || child.wait());
        Ok(command)
    }
}

#[cfg(test)]
mod tests {
    use stint_model::{EditorTab, Position, TenantId, UserId};

    use super::*;

    #[test]
    fn commands_reopen_files_at_their_cursors() {
        let mut s = WorkspaceSession::new(TenantId::new(), UserId::new(), "s", "/src/my app");
        let tab = |path: &str, line, column| EditorTab {
            file_path: path.into(),
            cursor: Position { line, column },
            selections: vec![],
            scroll_top: 0,
            is_pinned: false,
            group: None,
            anchor: None,
        };
        s.editor_state.open_tabs = vec![tab("src/main.rs", 42, 7), tab("README.md", 1, 1)];
        s.editor_state.active_tab_index = Some(0);
        s.terminal_state.cwd = Some("/src/my app/src".into());
        let pre = Preflight::empty(&s);
        let r = Resume::of(s, pre);
        let commands: Vec<&str> = r.commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            commands,
            [
                "code '/src/my app' -g '/src/my app/README.md:1:1' -g '/src/my app/src/main.rs:42:7'",
                "vim +42 '/src/my app/src/main.rs' '/src/my app/README.md'",
                "cd '/src/my app/src'",
            ]
        );
    }

    #[test]
    fn no_tabs_still_returns_to_the_workspace() {
        let s = WorkspaceSession::new(TenantId::new(), UserId::new(), "s", "/src/app");
        let pre = Preflight::empty(&s);
        let r = Resume::of(s, pre);
        assert_eq!(r.commands.len(), 1);
        assert_eq!(r.commands[0].command, "cd /src/app");
    }
}
