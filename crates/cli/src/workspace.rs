//! `stint workspace …` and the preflight's printing: each command is one
//! call into `stint-client`, then printing.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use stint_client::{Client, Placed, Preflight, Resume, WorkspaceView};

use crate::cli::WorkspaceCommand;

pub(crate) async fn run(device: &Client, command: WorkspaceCommand) -> anyhow::Result<()> {
    match command {
        WorkspaceCommand::List { output } => {
            let all = device.workspaces().await?;
            if output.json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                println!(
                    "no workspaces yet: one is recorded when a session starts in it, when it is watched, or with `stint workspace link ID PATH`"
                );
            } else {
                for ws in &all {
                    print_workspace(ws);
                }
            }
        }
        WorkspaceCommand::Link { id, path, output } => {
            let ws = device.link_workspace(&id, &path).await?;
            if output.json {
                println!("{}", serde_json::to_string_pretty(&ws)?);
            } else {
                print_workspace(&ws);
            }
        }
        WorkspaceCommand::Forget { id, path } => {
            let ws = device.forget_workspace(&id, path.clone()).await?;
            match path {
                Some(path) => println!("forgot {} as a folder of {}", path.display(), ws.id),
                None => println!("forgot every folder of {} on this device", ws.id),
            }
        }
    }
    Ok(())
}

fn print_workspace(ws: &WorkspaceView) {
    let sessions = match ws.sessions {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    };
    println!("{}  ({sessions})", ws.id);
    if let Some(remote) = &ws.remote {
        println!("  remote  {remote}");
    }
    for folder in &ws.folders {
        println!("  here    {folder}");
    }
}

/// Files listed by name before the rest are only counted.
const LISTED: usize = 20;

/// The preflight, for people.
pub(crate) fn print_preflight(p: &Preflight) {
    println!("Preflight: {}", p.summary);
    for (what, files) in [
        ("changed", &p.changed),
        ("missing", &p.missing),
        ("extra  ", &p.extra),
    ] {
        for f in files.iter().take(LISTED) {
            println!("  {what}  {f}");
        }
        if files.len() > LISTED {
            println!("  {what}  … and {} more", files.len() - LISTED);
        }
    }
    if !p.unverified.is_empty() {
        println!(
            "  {} secret file(s) not compared: their checksums stay on the device that recorded them",
            p.unverified.len()
        );
    }
    if let Some((theirs, ours)) = &p.head {
        println!(
            "  HEAD    {} here, {} in the session",
            short(ours.as_deref()),
            short(theirs.as_deref())
        );
    }
    for place in p.tabs.iter().chain(&p.breakpoints) {
        if place.placed == Placed::Moved && place.line != place.recorded_line {
            println!(
                "  moved   {}:{} → line {} (the file changed)",
                place.file_path, place.recorded_line, place.line
            );
        }
    }
    for w in &p.warnings {
        if p.folder.is_some() {
            println!("  warning {w}");
        }
    }
}

fn short(commit: Option<&str>) -> &str {
    commit.map_or("(none)", |c| &c[..c.len().min(12)])
}

/// On a terminal, when no checkout of the session's workspace is known
/// here: asks where it is (Enter skips). Without a terminal, nothing is
/// asked.
pub(crate) fn ask_for_checkout(resume: &Resume) -> anyhow::Result<Option<PathBuf>> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    let mut err = std::io::stderr();
    writeln!(err, "stint: {}", resume.preflight.summary())?;
    write!(
        err,
        "Where is the checkout of {} on this device? [Enter to skip] ",
        resume
            .preflight
            .workspace_id
            .as_deref()
            .unwrap_or(&resume.session.workspace_path)
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let path = PathBuf::from(line);
    Ok(Some(if path.is_absolute() {
        path
    } else {
        std::env::current_dir()?.join(path)
    }))
}
