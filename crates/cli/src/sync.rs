//! `stint sync` and `stint conflicts`: one call into `stint-client` each.

use std::time::Duration;

use stint_client::{Client, ClientError, SyncReport};

use crate::cli::{ConflictCommand, Output};

fn print_report(report: &SyncReport, output: Output) -> anyhow::Result<()> {
    if output.json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        println!(
            "pushed {}, pulled {}{}{}{}",
            report.pushed,
            report.pulled,
            if report.conflicts > 0 {
                format!(", {} conflicts (see `stint conflicts`)", report.conflicts)
            } else {
                String::new()
            },
            if report.set_aside > 0 {
                format!(", {} refused by the server and set aside", report.set_aside)
            } else {
                String::new()
            },
            if report.refetched {
                ", pulled everything again"
            } else {
                ""
            },
        );
    }
    Ok(())
}

pub(crate) async fn sync(device: &Client, watch: bool, output: Output) -> anyhow::Result<()> {
    if !watch {
        return print_report(&device.sync().await?, output);
    }
    let Client::Direct(device) = device else {
        println!("`stint agent` runs and keeps this device in sync already");
        return Ok(());
    };
    eprintln!("syncing; Ctrl-C stops");
    let edits = tokio::sync::Notify::new();
    let mut failed = None;
    device
        .watch(
            Duration::from_secs(60),
            &edits,
            |round| match round {
                Ok(report) if report.pushed + report.pulled > 0 || output.json => {
                    let _ = print_report(report, output);
                }
                Ok(_) => {}
                Err(ClientError::NotSignedIn(m)) => {
                    failed = Some(ClientError::NotSignedIn(m.clone()))
                }
                Err(e) => eprintln!("stint: {e} (retrying)"),
            },
            crate::stopped(),
        )
        .await;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

pub(crate) async fn conflicts(
    device: &Client,
    command: Option<ConflictCommand>,
    output: Output,
) -> anyhow::Result<()> {
    if let Some(ConflictCommand::Resolve { id, mine, .. }) = command {
        let conflict = device.resolve_conflict(&id, mine).await?;
        let what = match (mine, conflict.deleted) {
            (true, true) => "deleted the record".to_owned(),
            (false, _) => "kept the record".to_owned(),
            (true, false) => format!(
                "took its values: {}",
                conflict
                    .fields
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        println!("resolved {}: {what}", conflict.id);
        return Ok(());
    }
    let conflicts = device.conflicts().await?;
    if output.json {
        println!("{}", serde_json::to_string_pretty(&conflicts)?);
        return Ok(());
    }
    if conflicts.is_empty() {
        println!("no conflicts");
    }
    for c in conflicts {
        let lost = if c.deleted {
            "deleted, after another device changed it (--mine deletes it, --theirs keeps it)"
                .to_owned()
        } else {
            format!(
                "fields: {}",
                c.fields
                    .iter()
                    .map(|(name, value)| format!("{name} = {value}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        println!("{}  {} {}  {lost}", c.id, c.kind, c.record_id);
    }
    Ok(())
}
