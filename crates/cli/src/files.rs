//! `stint watch` and `stint files`: one call into `stint-client` each, and
//! the progress of an initial index.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use stint_client::{
    Client, ClientError, FileQuery, NewSession, SessionFilter, WatchState, WatchStatus,
};
use stint_model::{SessionId, SessionStatus, WorkspaceSession};

use crate::cli::{FilesCommand, Output};

pub(crate) async fn watch(
    device: &Client,
    path: Option<PathBuf>,
    session: Option<String>,
    once: bool,
    stop: bool,
    output: Output,
) -> anyhow::Result<()> {
    let path = folder(path)?;
    let session = match session {
        Some(id) => device.find_session(&id).await?,
        None if stop => session_of(device, &path, true).await?.ok_or_else(|| {
            ClientError::NotFound(format!("no session watches {}", path.display()))
        })?,
        None => match session_of(device, &path, true).await? {
            Some(session) => session,
            None => {
                let name = path.file_name().map_or_else(
                    || "workspace".to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let session = device
                    .start_session(NewSession {
                        name,
                        workspace: path.clone(),
                        tags: Vec::new(),
                    })
                    .await?;
                eprintln!("started session {} for {}", session.id, path.display());
                session
            }
        },
    };
    let id = session.id.to_string();
    if stop {
        let was = device.unwatch_workspace(&id).await?;
        println!(
            "{} {}",
            if was {
                "stopped watching"
            } else {
                "was not watching"
            },
            path.display()
        );
        return Ok(());
    }

    device.watch_workspace(&id).await?;
    let status = follow_initial_index(device, session.id).await?;
    if output.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        println!(
            "indexed {} files in {} (session {})",
            status.files, status.workspace, status.session_id
        );
    }
    for problem in &status.problems {
        eprintln!("stint: {problem}");
    }
    if let Some(message) = &status.message {
        eprintln!("stint: {message}");
    }
    if status.state == WatchState::Failed {
        anyhow::bail!("watching {} stopped", status.workspace);
    }
    if device.via_agent() {
        return Ok(());
    }
    if !once {
        eprintln!(
            "watching {}; Ctrl-C stops (`stint agent` watches in the background)",
            path.display()
        );
        crate::stopped().await;
    }
    device.stop_watches().await;
    Ok(())
}

/// Shows the initial index's progress (files, bytes, rate, ETA) until the
/// index is in the replica: a spinner while the tree is walked, then a bar
/// as wide as the terminal once the bytes to hash are known.
async fn follow_initial_index(device: &Client, id: SessionId) -> anyhow::Result<WatchStatus> {
    let bar = ProgressBar::new_spinner().with_message("walking the tree");
    bar.set_style(
        ProgressStyle::with_template("{spinner} indexing: {msg}").expect("a valid template"),
    );
    let mut measured = false;
    loop {
        let status = device
            .watch_statuses()
            .await?
            .into_iter()
            .find(|s| s.session_id == id)
            .context("the watch stopped")?;
        if status.state != WatchState::Indexing {
            bar.finish_and_clear();
            return Ok(status);
        }
        if status.files_to_hash > 0 {
            bar.set_length(status.bytes_to_hash);
            bar.set_position(status.bytes_hashed);
            bar.set_message(format!(
                "{}/{} files",
                status.files_hashed, status.files_to_hash
            ));
            if !measured {
                measured = true;
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} indexing {msg} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
            }
        } else {
            bar.tick();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn files(
    device: &Client,
    command: Option<FilesCommand>,
    session: Option<String>,
    changed_since: Option<String>,
    output: Output,
) -> anyhow::Result<()> {
    if let Some(FilesCommand::WhichSessions { target, output }) = command {
        let cwd = std::env::current_dir().context("the current directory")?;
        let matches = device
            .which_sessions(FileQuery::parse(&target, &cwd))
            .await?;
        if output.json {
            println!("{}", serde_json::to_string(&matches)?);
        } else if matches.is_empty() {
            println!("no session touched {target}");
        } else {
            for m in matches {
                println!(
                    "{}  {}  {}/{}  {}",
                    m.file.workspace_session_id,
                    m.session_name.as_deref().unwrap_or("(another device's)"),
                    m.file.workspace_path,
                    m.file.file_path,
                    m.source
                );
            }
        }
        return Ok(());
    }
    let session = given_or_here(device, session, "give --session").await?;
    let since = changed_since.as_deref().map(parse_time).transpose()?;
    let files = device.files(&session.id.to_string(), since).await?;
    if output.json {
        println!("{}", serde_json::to_string(&files)?);
        return Ok(());
    }
    for file in &files {
        println!(
            "{}  {:>10}  {}",
            file.checksum.as_deref().unwrap_or("-"),
            file.file_size,
            file.file_path
        );
    }
    eprintln!("{} files in {}", files.len(), session.workspace_path);
    Ok(())
}

/// The session named by `id`, else the newest active session whose
/// workspace holds the current directory; `hint` says how to name one.
pub(crate) async fn given_or_here(
    device: &Client,
    id: Option<String>,
    hint: &str,
) -> anyhow::Result<WorkspaceSession> {
    if let Some(id) = id {
        return Ok(device.find_session(&id).await?);
    }
    let cwd = std::env::current_dir().context("the current directory")?;
    Ok(session_of(device, &cwd, false).await?.ok_or_else(|| {
        ClientError::NotFound(format!(
            "no active session's workspace holds {}: {hint}",
            cwd.display()
        ))
    })?)
}

/// The newest active session whose workspace is `path` (`exact`) or holds
/// it (the deepest such workspace): one indexed lookup per folder.
async fn session_of(
    device: &Client,
    path: &Path,
    exact: bool,
) -> anyhow::Result<Option<WorkspaceSession>> {
    let folders = path.ancestors().take(if exact { 1 } else { usize::MAX });
    for folder in folders {
        let Some(folder) = folder.to_str() else {
            continue;
        };
        let filter = SessionFilter {
            workspace: Some(folder.to_owned()),
            ..SessionFilter::default()
        };
        let newest = device
            .list_sessions(filter)
            .await?
            .into_iter()
            .find(|s| s.status == SessionStatus::Active);
        if newest.is_some() {
            return Ok(newest);
        }
    }
    Ok(None)
}

fn folder(path: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match path {
        Some(p) => p,
        None => std::env::current_dir().context("the current directory")?,
    };
    let canonical = path.canonicalize().map_err(|e| {
        ClientError::Invalid(stint_model::ValidationError::new(
            "path",
            format!("{}: {e}", path.display()),
        ))
    })?;
    if !canonical.is_dir() {
        return Err(ClientError::Invalid(stint_model::ValidationError::new(
            "path",
            format!("{} is not a folder", path.display()),
        ))
        .into());
    }
    Ok(canonical)
}

fn parse_time(text: &str) -> anyhow::Result<stint_model::Timestamp> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    Err(ClientError::Invalid(stint_model::ValidationError::new(
        "changed_since",
        format!("{text:?} is neither RFC 3339 (2026-11-01T12:00:00Z) nor a date (2026-11-01)"),
    ))
    .into())
}
