//! `stint session …`: each command is one call into `stint-client`, then
//! printing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use stint_client::{Change, Client, ClientError, NewSession, RelatedSession, SessionFilter};
use stint_model::{SessionStatus, WorkspaceSession};

use crate::cli::{Output, SessionCommand};

fn absolute(path: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match path {
        Some(p) => p,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let path = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()?.join(path)
    };
    // Resolve `.` and `..` without requiring the folder to exist.
    Ok(path.components().collect())
}

/// `FILE[:LINE[:COLUMN]]`, the line and column 1 when not given (0 is
/// refused by the session's validation, naming the field).
fn place(text: &str) -> anyhow::Result<(String, u32, u32)> {
    let mut file = text;
    let mut numbers = Vec::new();
    while numbers.len() < 2 {
        match file.rsplit_once(':') {
            Some((rest, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                numbers.insert(
                    0,
                    n.parse::<u32>()
                        .with_context(|| format!("{text:?}: {n} is too large"))?,
                );
                file = rest;
            }
            _ => break,
        }
    }
    anyhow::ensure!(
        !file.is_empty(),
        "{text:?}: give a file, e.g. src/main.rs:42:7"
    );
    Ok((
        file.to_owned(),
        numbers.first().copied().unwrap_or(1),
        numbers.get(1).copied().unwrap_or(1),
    ))
}

fn utf8(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

pub(crate) async fn run(device: &Client, command: SessionCommand) -> anyhow::Result<()> {
    match command {
        SessionCommand::Start {
            title,
            name,
            workspace,
            tags,
        } => {
            let session = device
                .start_session(NewSession {
                    name: title.or(name).unwrap_or_default(),
                    workspace: absolute(workspace)?,
                    tags,
                })
                .await?;
            println!("{}", session.id);
        }
        SessionCommand::List {
            workspace,
            tag,
            all,
            limit,
            output,
        } => {
            let workspace = workspace
                .map(|w| absolute(Some(w)).and_then(|p| utf8(&p)))
                .transpose()?;
            let filter = SessionFilter {
                workspace,
                tag,
                include_archived: all,
                limit,
                ..SessionFilter::default()
            };
            print_sessions(&device.list_sessions(filter).await?, output)?;
        }
        SessionCommand::Recent { limit, output } => {
            print_sessions(&device.recent_sessions(limit).await?, output)?
        }
        SessionCommand::Show { id, output } => {
            let session = device.find_session(&id).await?;
            if output.json {
                println!("{}", serde_json::to_string_pretty(&session)?);
            } else {
                print_session(&session);
            }
        }
        SessionCommand::Update {
            id,
            name,
            archive,
            unarchive,
            cwd,
            tabs,
            breakpoints,
        } => {
            let mut changes = Vec::new();
            if !tabs.is_empty() {
                let open_tabs = tabs
                    .iter()
                    .map(|t| {
                        let (file_path, line, column) = place(t)?;
                        Ok(stint_model::EditorTab {
                            file_path,
                            cursor: stint_model::Position { line, column },
                            selections: Vec::new(),
                            scroll_top: 0,
                            is_pinned: false,
                            group: None,
                            anchor: None,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                changes.push(Change::Editor(stint_model::EditorState {
                    active_tab_index: Some(open_tabs.len() - 1),
                    open_tabs,
                    layout: stint_model::EditorLayout::Single,
                    editor: None,
                    device: None,
                }));
            }
            if !breakpoints.is_empty() {
                let bps = breakpoints
                    .iter()
                    .map(|b| {
                        let (file_path, line, _) = place(b)?;
                        Ok(stint_model::Breakpoint {
                            file_path,
                            line,
                            condition: None,
                            log_message: None,
                            enabled: true,
                            anchor: None,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                changes.push(Change::Breakpoints(bps));
            }
            changes.extend(name.map(Change::Name));
            if archive {
                changes.push(Change::Status(SessionStatus::Archived));
            }
            if unarchive {
                changes.push(Change::Status(SessionStatus::Active));
            }
            if let Some(cwd) = cwd {
                changes.push(Change::Cwd(utf8(&absolute(Some(cwd))?)?));
            }
            anyhow::ensure!(
                !changes.is_empty(),
                "nothing to change: give --name, --archive, --unarchive, --cwd, --tab or --breakpoint"
            );
            let session = device.update_session(&id, changes).await?;
            println!("updated {} ({})", session.id, session.name);
        }
        SessionCommand::Note {
            id,
            text,
            decision,
            why,
        } => {
            let change = if decision {
                Change::Decision(text, why)
            } else {
                Change::Fact(text)
            };
            let session = device.update_session(&id, vec![change]).await?;
            println!("noted in {} ({})", session.id, session.name);
        }
        SessionCommand::Tag { id, tag, remove } => {
            let change = if remove {
                Change::RemoveTag(tag)
            } else {
                Change::AddTag(tag)
            };
            let session = device.update_session(&id, vec![change]).await?;
            println!("{}: {}", session.name, session.tags.join(", "));
        }
        SessionCommand::Fork { id, title, name } => {
            let name = title.or(name).unwrap_or_default();
            println!("{}", device.fork_session(&id, &name).await?.id)
        }
        SessionCommand::Children { id, output } => {
            print_sessions(&device.children(&id).await?, output)?
        }
        SessionCommand::Related { id, limit, output } => {
            print_related(&device.related(&id, limit).await?, output)?
        }
        SessionCommand::Resume { id, open, output } => {
            // A window already open on the workspace does it there (an
            // owner older than this `stint` knows no windows).
            let window = if open && !output.json {
                match device.resume_in_window(id.clone()).await {
                    Ok(window) => window,
                    Err(ClientError::Unsupported(_)) => None,
                    Err(e) => return Err(e.into()),
                }
            } else {
                None
            };
            if let Some(window) = window {
                eprintln!(
                    "stint: resuming in {} (the window on {})",
                    window.editor,
                    window.folder.display()
                );
                return Ok(());
            }
            let mut resume = device.resume_session(&id).await?;
            if resume.preflight.folder.is_none()
                && !output.json
                && !open
                && let Some(folder) = crate::workspace::ask_for_checkout(&resume)?
            {
                device.link_workspace(&id, &folder).await?;
                resume = device.resume_session(&id).await?;
            }
            if output.json {
                println!("{}", serde_json::to_string_pretty(&resume)?);
            } else if open {
                for w in &resume.preflight.warnings {
                    eprintln!("stint: {w}");
                }
                for c in &resume.commands {
                    println!("{}", c.command);
                }
            } else {
                print_session(&resume.session);
                println!();
                crate::workspace::print_preflight(&resume.preflight);
                println!("\nTo reopen:");
                for c in &resume.commands {
                    println!("  {:<7} {}", c.tool, c.command);
                }
            }
        }
        SessionCommand::Preflight { id, output } => {
            let preflight = device.preflight(&id).await?;
            if output.json {
                println!("{}", serde_json::to_string_pretty(&preflight)?);
            } else {
                crate::workspace::print_preflight(&preflight);
            }
        }
        SessionCommand::History { id, output } => {
            let session = crate::files::given_or_here(device, id, "give its id").await?;
            let history = &session.terminal_state.command_history;
            if output.json {
                let numbered: Vec<_> = (1..)
                    .zip(history)
                    .map(|(n, command)| serde_json::json!({"number": n, "command": command}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&numbered)?);
            } else if history.is_empty() {
                println!(
                    "no commands recorded in {} yet: see `stint init --help`",
                    session.name
                );
            } else {
                let width = history.len().to_string().len();
                for (n, command) in (1..).zip(history) {
                    println!("{n:>width$}  {}", printable(command));
                }
            }
        }
        SessionCommand::Forget { id, mut commands } => {
            // Highest first, so that each removal leaves the numbers of
            // the others as they were shown.
            commands.sort_unstable_by(|a, b| b.cmp(a));
            commands.dedup();
            let changes: Vec<Change> = commands
                .iter()
                .map(|n| Change::ForgetCommand(*n as usize - 1, None))
                .collect();
            let session = device.update_session(&id, changes).await?;
            println!(
                "forgot {} command{} in {} ({} left)",
                commands.len(),
                if commands.len() == 1 { "" } else { "s" },
                session.name,
                session.terminal_state.command_history.len()
            );
        }
        SessionCommand::Delete { id } => {
            let session = device.delete_session(&id).await?;
            println!("deleted {} ({})", session.id, session.name);
        }
    }
    Ok(())
}

/// `text` with control characters escaped (`\u{1b}`, `\n`): a recorded
/// command (from another device, or another member) must not drive the
/// terminal it is shown on, nor break the one-line-per-command listing.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn print_sessions(sessions: &[WorkspaceSession], output: Output) -> anyhow::Result<()> {
    if output.json {
        println!("{}", serde_json::to_string_pretty(sessions)?);
        return Ok(());
    }
    if sessions.is_empty() {
        println!("no sessions yet: start one with `stint session start NAME`");
        return Ok(());
    }
    for s in sessions {
        let archived = if s.status == SessionStatus::Archived {
            " [archived]"
        } else {
            ""
        };
        println!(
            "{}  {:<30}  {:<30}  {}{}  {}",
            &s.id.to_string()[..13],
            s.name,
            s.workspace_path,
            s.tags.join(","),
            archived,
            s.updated_at.format("%Y-%m-%d %H:%M"),
        );
    }
    Ok(())
}

fn print_related(related: &[RelatedSession], output: Output) -> anyhow::Result<()> {
    if output.json {
        println!("{}", serde_json::to_string_pretty(related)?);
        return Ok(());
    }
    for r in related {
        println!(
            "{}  {:<30}  {}",
            &r.session.id.to_string()[..13],
            r.session.name,
            r.reasons.join("; ")
        );
    }
    Ok(())
}

fn print_session(s: &WorkspaceSession) {
    println!("{}  {}", s.id, s.name);
    println!("  workspace   {}", s.workspace_path);
    if let Some(id) = &s.workspace_id {
        println!("  identity    {id}");
    }
    if let Some(branch) = s.git.as_ref().and_then(|g| g.branch.as_ref()) {
        println!("  branch      {branch}");
    }
    if !s.tags.is_empty() {
        println!("  tags        {}", s.tags.join(", "));
    }
    if let Some(parent) = s.parent_session_id {
        println!("  forked from {parent}");
    }
    for tab in &s.editor_state.open_tabs {
        println!(
            "  open        {}:{}:{}",
            tab.file_path, tab.cursor.line, tab.cursor.column
        );
    }
    if let Some(cwd) = &s.terminal_state.cwd {
        println!("  terminal    {cwd}");
    }
    for cmd in s.terminal_state.command_history.iter().rev().take(5).rev() {
        println!("    $ {}", printable(cmd));
    }
    for bp in &s.breakpoints {
        println!("  breakpoint  {}:{}", bp.file_path, bp.line);
    }
    for fact in &s.memory.facts {
        println!("  fact        {}", fact.text);
    }
    for decision in &s.memory.decisions {
        match &decision.rationale {
            Some(why) => println!("  decision    {} (because {why})", decision.text),
            None => println!("  decision    {}", decision.text),
        }
    }
    println!(
        "  updated     {}",
        s.updated_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
}
