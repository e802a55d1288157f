//! Workspace sessions: everything needed to bring a workspace back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, SessionId, TenantId, UserId};
use crate::validate::{self, Validate, ValidationError};
use crate::workspace::{self, GitState};
use crate::{Timestamp, now};

/// Most files in `active_files`, `context_files` or open tabs.
pub const MAX_FILES: usize = 1_000;
/// Most breakpoints or watch expressions.
pub const MAX_BREAKPOINTS: usize = 1_000;
/// Most facts or decisions in a session's memory.
pub const MAX_NOTES: usize = 1_000;

/// A place in a file: 1-based line and column, as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Default for Position {
    fn default() -> Self {
        Self { line: 1, column: 1 }
    }
}

/// A selected range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Selection {
    /// Where it starts.
    pub start: Position,
    /// Where it ends.
    pub end: Position,
}

/// One open editor tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EditorTab {
    /// Path relative to the workspace root.
    pub file_path: String,
    /// Where the cursor is.
    #[serde(default)]
    pub cursor: Position,
    /// Selections, if any.
    #[serde(default)]
    pub selections: Vec<Selection>,
    /// First visible line.
    #[serde(default)]
    pub scroll_top: u32,
    /// Whether the tab is pinned.
    #[serde(default)]
    pub is_pinned: bool,
    /// The editor group (split) it is in, from 1 (VS Code's view column);
    /// none where the editor has no groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// The lines around the cursor, hashed, so that the cursor can follow
    /// an edit of the file on another device (see [`LineAnchor`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<LineAnchor>,
}

/// Where a line is, told by the lines around it: the hashes of a few
/// lines before it, the line itself and a few after (never their text,
/// which does not leave the device). When the file has changed, the line
/// is found again where the same lines are (`stint_watch::anchor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LineAnchor {
    /// A 32-bit hash of each line of the window, in order.
    pub hashes: Vec<u32>,
    /// Which of them is the anchored line.
    pub at: usize,
}

/// Most hashes in an anchor.
pub const MAX_ANCHOR_LINES: usize = 32;

/// How editor groups are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EditorLayout {
    /// One group.
    #[default]
    Single,
    /// Two groups side by side.
    SplitHorizontal,
    /// Two groups one above the other.
    SplitVertical,
    /// Four groups.
    Grid,
}

/// The editor as the user left it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EditorState {
    /// Open tabs, in order.
    #[serde(default)]
    pub open_tabs: Vec<EditorTab>,
    /// Index of the focused tab in `open_tabs`.
    #[serde(default)]
    pub active_tab_index: Option<usize>,
    /// Group arrangement.
    #[serde(default)]
    pub layout: EditorLayout,
    /// The editor that captured it, as it names itself (`Neovim 0.7.2`,
    /// `VS Code 1.100.3`); none when typed in (`stint session update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor: Option<String>,
    /// The device it was captured on (its host name), set by the device
    /// itself whatever the editor says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// The terminal as the user left it. History and environment are scrubbed of
/// secrets by the client before they are stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TerminalState {
    /// Working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Commands, oldest first, at most [`validate::MAX_HISTORY`].
    #[serde(default)]
    pub command_history: Vec<String>,
    /// Environment variables the user set for this workspace.
    #[serde(default)]
    pub environment_vars: BTreeMap<String, String>,
}

/// A debugger breakpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Breakpoint {
    /// Path relative to the workspace root.
    pub file_path: String,
    /// 1-based line.
    pub line: u32,
    /// Break only when this expression holds.
    #[serde(default)]
    pub condition: Option<String>,
    /// A logpoint's message: logged instead of breaking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
    /// Whether it is armed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The lines around it, hashed (see [`LineAnchor`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<LineAnchor>,
}

fn yes() -> bool {
    true
}

/// A note in a session's memory: a fact learned or a decision taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Note {
    /// What was learned or decided.
    pub text: String,
    /// Why, for decisions.
    #[serde(default)]
    pub rationale: Option<String>,
    /// When it was noted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Note {
    /// A note taken now.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            rationale: None,
            created_at: now(),
        }
    }
}

/// What the session remembers beyond editor state, for the user and for AI
/// assistants ("last time we decided to…").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionMemory {
    /// Facts about the work.
    #[serde(default)]
    pub facts: Vec<Note>,
    /// Decisions taken, with their rationale.
    #[serde(default)]
    pub decisions: Vec<Note>,
}

/// Whether a session is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Listed and watched.
    #[default]
    Active,
    /// Kept for reference, hidden from "recent".
    Archived,
}

/// A workspace session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorkspaceSession {
    /// Its id.
    pub id: SessionId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The user who started it.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// Absolute path of the workspace folder on the device that started it.
    pub workspace_path: String,
    /// The workspace's identity, the same on every device and path (see
    /// [`crate::workspace`]); `None` where none could be read, or for a
    /// session older than identities that no device has migrated yet.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Its git remote, branch and HEAD as last recorded.
    #[serde(default)]
    pub git: Option<GitState>,
    /// Files being worked on, relative to the workspace root.
    #[serde(default)]
    pub active_files: Vec<String>,
    /// Editor tabs, cursors, selections and layout.
    #[serde(default)]
    pub editor_state: EditorState,
    /// Terminal cwd, history and environment.
    #[serde(default)]
    pub terminal_state: TerminalState,
    /// Debugger breakpoints.
    #[serde(default)]
    pub breakpoints: Vec<Breakpoint>,
    /// Debugger watch expressions.
    #[serde(default)]
    pub watch_expressions: Vec<String>,
    /// The AI conversation attached to the session.
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
    /// Files given to AI assistants as context.
    #[serde(default)]
    pub context_files: Vec<String>,
    /// Facts and decisions.
    #[serde(default)]
    pub memory: SessionMemory,
    /// The session this one was forked from.
    #[serde(default)]
    pub parent_session_id: Option<SessionId>,
    /// Sessions the user linked by hand.
    #[serde(default)]
    pub related_sessions: Vec<SessionId>,
    /// Tags for cross-session queries.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Active or archived.
    #[serde(default)]
    pub status: SessionStatus,
    /// When it was started.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When its state last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// When it was last resumed or viewed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_accessed_at: Timestamp,
}

impl WorkspaceSession {
    /// A fresh session of `workspace_path`.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        name: impl Into<String>,
        workspace_path: impl Into<String>,
    ) -> Self {
        let at = now();
        Self {
            id: SessionId::new(),
            tenant_id,
            user_id,
            name: name.into(),
            workspace_path: workspace_path.into(),
            workspace_id: None,
            git: None,
            active_files: Vec::new(),
            editor_state: EditorState::default(),
            terminal_state: TerminalState::default(),
            breakpoints: Vec::new(),
            watch_expressions: Vec::new(),
            conversation_id: None,
            context_files: Vec::new(),
            memory: SessionMemory::default(),
            parent_session_id: None,
            related_sessions: Vec::new(),
            tags: Vec::new(),
            status: SessionStatus::Active,
            created_at: at,
            updated_at: at,
            last_accessed_at: at,
        }
    }

    /// A child session that starts from this one's state, to try another
    /// approach without losing the original. It keeps the workspace, files,
    /// editor and terminal state, breakpoints, memory and tags; it gets its
    /// own id, name and timestamps, and no conversation of its own yet.
    #[must_use]
    pub fn fork(&self, name: impl Into<String>) -> Self {
        let at = now();
        Self {
            id: SessionId::new(),
            name: name.into(),
            conversation_id: None,
            parent_session_id: Some(self.id),
            related_sessions: Vec::new(),
            status: SessionStatus::Active,
            created_at: at,
            updated_at: at,
            last_accessed_at: at,
            ..self.clone()
        }
    }
}

impl Validate for WorkspaceSession {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::name("name", &self.name)?;
        validate::workspace_path("workspace_path", &self.workspace_path)?;
        if let Some(id) = &self.workspace_id {
            workspace::validate_id("workspace_id", id)?;
        }
        if let Some(git) = &self.git {
            git.validate("git")?;
        }
        validate::max_items("active_files", &self.active_files, MAX_FILES)?;
        for (i, f) in self.active_files.iter().enumerate() {
            validate::relative_path(&format!("active_files[{i}]"), f)?;
        }
        validate::max_items("context_files", &self.context_files, MAX_FILES)?;
        for (i, f) in self.context_files.iter().enumerate() {
            validate::relative_path(&format!("context_files[{i}]"), f)?;
        }
        let tabs = &self.editor_state.open_tabs;
        validate::max_items("editor_state.open_tabs", tabs, MAX_FILES)?;
        for (i, tab) in tabs.iter().enumerate() {
            let field = format!("editor_state.open_tabs[{i}]");
            validate::relative_path(&format!("{field}.file_path"), &tab.file_path)?;
            if tab.cursor.line == 0 || tab.cursor.column == 0 {
                return Err(ValidationError::new(
                    format!("{field}.cursor"),
                    "lines and columns start at 1",
                ));
            }
            if tab.group == Some(0) {
                return Err(ValidationError::new(
                    format!("{field}.group"),
                    "groups start at 1",
                ));
            }
            check_anchor(&format!("{field}.anchor"), tab.anchor.as_ref())?;
        }
        for (field, value) in [
            ("editor_state.editor", &self.editor_state.editor),
            ("editor_state.device", &self.editor_state.device),
        ] {
            if let Some(value) = value {
                validate::name(field, value)?;
            }
        }
        if let Some(active) = self.editor_state.active_tab_index
            && active >= tabs.len()
        {
            return Err(ValidationError::new(
                "editor_state.active_tab_index",
                "must point at an open tab",
            ));
        }
        let terminal = &self.terminal_state;
        if let Some(cwd) = &terminal.cwd {
            validate::workspace_path("terminal_state.cwd", cwd)?;
        }
        validate::max_items(
            "terminal_state.command_history",
            &terminal.command_history,
            validate::MAX_HISTORY,
        )?;
        for (i, cmd) in terminal.command_history.iter().enumerate() {
            validate::text(
                &format!("terminal_state.command_history[{i}]"),
                cmd,
                validate::MAX_TEXT_CHARS,
            )?;
        }
        validate::max_items("breakpoints", &self.breakpoints, MAX_BREAKPOINTS)?;
        for (i, bp) in self.breakpoints.iter().enumerate() {
            validate::relative_path(&format!("breakpoints[{i}].file_path"), &bp.file_path)?;
            if bp.line == 0 {
                return Err(ValidationError::new(
                    format!("breakpoints[{i}].line"),
                    "lines start at 1",
                ));
            }
            for (name, text) in [
                ("condition", &bp.condition),
                ("log_message", &bp.log_message),
            ] {
                if let Some(text) = text {
                    validate::text(
                        &format!("breakpoints[{i}].{name}"),
                        text,
                        validate::MAX_TEXT_CHARS,
                    )?;
                }
            }
            check_anchor(&format!("breakpoints[{i}].anchor"), bp.anchor.as_ref())?;
        }
        validate::max_items(
            "watch_expressions",
            &self.watch_expressions,
            MAX_BREAKPOINTS,
        )?;
        for (field, notes) in [
            ("memory.facts", &self.memory.facts),
            ("memory.decisions", &self.memory.decisions),
        ] {
            validate::max_items(field, notes, MAX_NOTES)?;
            for (i, note) in notes.iter().enumerate() {
                validate::non_empty_text(
                    &format!("{field}[{i}].text"),
                    &note.text,
                    validate::MAX_TEXT_CHARS,
                )?;
            }
        }
        if self.parent_session_id == Some(self.id) {
            return Err(ValidationError::new(
                "parent_session_id",
                "a session cannot be its own parent",
            ));
        }
        validate::max_items("related_sessions", &self.related_sessions, MAX_FILES)?;
        validate::tags("tags", &self.tags)
    }
}

fn check_anchor(field: &str, anchor: Option<&LineAnchor>) -> Result<(), ValidationError> {
    match anchor {
        Some(a) if a.hashes.is_empty() || a.hashes.len() > MAX_ANCHOR_LINES => Err(
            ValidationError::new(field, format!("must hash 1 to {MAX_ANCHOR_LINES} lines")),
        ),
        Some(a) if a.at >= a.hashes.len() => Err(ValidationError::new(
            format!("{field}.at"),
            "must point at one of the hashed lines",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> WorkspaceSession {
        let mut s =
            WorkspaceSession::new(TenantId::new(), UserId::new(), "Auth refactor", "/src/app");
        s.active_files = vec!["src/main.rs".into()];
        s.editor_state.open_tabs.push(EditorTab {
            file_path: "src/main.rs".into(),
            cursor: Position {
                line: 42,
                column: 7,
            },
            selections: vec![],
            scroll_top: 30,
            is_pinned: false,
            group: None,
            anchor: None,
        });
        s.editor_state.active_tab_index = Some(0);
        s.tags = vec!["backend".into(), "auth".into()];
        s.memory.decisions.push(Note::new("Use token families"));
        s
    }

    #[test]
    fn fork_keeps_state_and_links_the_parent() {
        let mut parent = session();
        parent.conversation_id = Some(ConversationId::new());
        let child = parent.fork("Try async approach");
        assert_eq!(child.parent_session_id, Some(parent.id));
        assert_ne!(child.id, parent.id);
        assert_eq!(child.name, "Try async approach");
        assert_eq!(child.editor_state, parent.editor_state);
        assert_eq!(child.memory, parent.memory);
        assert_eq!(child.tags, parent.tags);
        assert_eq!(child.conversation_id, None);
        assert!(child.validate().is_ok());
    }

    /// `check(edit, field)`: after `edit`, validation fails on `field`.
    fn check(edit: impl FnOnce(&mut WorkspaceSession), field: &str) {
        let mut s = session();
        edit(&mut s);
        assert_eq!(s.validate().map_err(|e| e.field), Err(field.to_owned()));
    }

    #[test]
    fn invalid_sessions_name_the_field() {
        assert!(session().validate().is_ok());
        check(|s| s.name.clear(), "name");
        check(
            |s| s.workspace_path = "relative/path".into(),
            "workspace_path",
        );
        check(
            |s| s.active_files.push("../etc/passwd".into()),
            "active_files[1]",
        );
        check(
            |s| s.editor_state.open_tabs[0].cursor.line = 0,
            "editor_state.open_tabs[0].cursor",
        );
        check(
            |s| s.editor_state.active_tab_index = Some(3),
            "editor_state.active_tab_index",
        );
        check(
            |s| s.terminal_state.cwd = Some("tmp".into()),
            "terminal_state.cwd",
        );
        check(
            |s| s.terminal_state.command_history = vec!["ls".into(); 1001],
            "terminal_state.command_history",
        );
        check(
            |s| {
                s.breakpoints.push(Breakpoint {
                    file_path: "src/lib.rs".into(),
                    line: 0,
                    condition: None,
                    log_message: None,
                    enabled: true,
                    anchor: None,
                });
            },
            "breakpoints[0].line",
        );
        check(
            |s| s.memory.facts.push(Note::new("  ")),
            "memory.facts[0].text",
        );
        check(|s| s.tags.push("Not A Tag".into()), "tags[2]");
        check(|s| s.parent_session_id = Some(s.id), "parent_session_id");
        check(|s| s.workspace_id = Some("/src/app".into()), "workspace_id");
        check(
            |s| {
                s.git = Some(GitState {
                    head: Some("HEAD".into()),
                    ..GitState::default()
                });
            },
            "git.head",
        );
        check(
            |s| {
                s.editor_state.open_tabs[0].anchor = Some(LineAnchor {
                    hashes: vec![1, 2],
                    at: 2,
                });
            },
            "editor_state.open_tabs[0].anchor.at",
        );
    }

    #[test]
    fn missing_optional_parts_default_when_read() {
        let s = session();
        let mut json = serde_json::to_value(&s).unwrap();
        let obj = json.as_object_mut().unwrap();
        for field in [
            "editor_state",
            "terminal_state",
            "breakpoints",
            "memory",
            "tags",
            "status",
        ] {
            obj.remove(field);
        }
        let back: WorkspaceSession = serde_json::from_value(json).unwrap();
        assert_eq!(back.editor_state, EditorState::default());
        assert!(back.tags.is_empty());
        assert_eq!(back.status, SessionStatus::Active);
    }
}
