//! `stint login|register|logout|whoami|status|tenant`: prompts, then one
//! call into `stint-client`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use stint_client::Client;
use stint_model::api::RegisterRequest;

use crate::cli::{Credentials, Output, TenantCommand};

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// The email and password, from flags, standard input or prompts.
fn ask(credentials: &Credentials) -> anyhow::Result<(String, String)> {
    let email = match &credentials.email {
        Some(email) => email.clone(),
        None => prompt("Email")?,
    };
    let password = if credentials.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").context("reading the password")?
    } else {
        anyhow::bail!("no terminal to ask the password on: use --password-stdin");
    };
    anyhow::ensure!(
        !email.is_empty() && !password.is_empty(),
        "an email and a password are needed"
    );
    Ok((email, password))
}

pub(crate) async fn login(device: &Client, credentials: &Credentials) -> anyhow::Result<()> {
    let (email, password) = ask(credentials)?;
    let signed_in = device
        .login(&credentials.server, &email, &password)
        .await?
        .context("the agent did not sign in")?;
    println!(
        "signed in to {} as {} ({})",
        signed_in.server, signed_in.user.email, signed_in.tenant.name
    );
    Ok(())
}

pub(crate) async fn register(
    device: &Client,
    credentials: &Credentials,
    first_name: String,
    last_name: String,
) -> anyhow::Result<()> {
    let (email, password) = ask(credentials)?;
    let req = RegisterRequest {
        email,
        password,
        first_name,
        last_name,
        device_id: None,
    };
    let signed_in = device
        .register(&credentials.server, req)
        .await?
        .context("the agent did not sign in")?;
    println!(
        "registered and signed in to {} as {}",
        signed_in.server, signed_in.user.email
    );
    Ok(())
}

pub(crate) async fn logout(device: &Client) -> anyhow::Result<()> {
    if device.logout().await? {
        println!("signed out");
    } else {
        println!("not signed in");
    }
    Ok(())
}

pub(crate) async fn whoami(device: &Client, output: Output) -> anyhow::Result<()> {
    let Some(c) = device.whoami().await? else {
        return Err(stint_client::ClientError::NotSignedIn(
            "run `stint login --server URL`".into(),
        )
        .into());
    };
    if output.json {
        let v = serde_json::json!({"server": c.server, "user": c.user, "tenant": c.tenant, "role": c.role});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} on {} (tenant {}, {:?})",
            c.user.email, c.server, c.tenant.name, c.role
        );
    }
    Ok(())
}

pub(crate) async fn tenant(device: &Client, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::List { output } => {
            let current = device.whoami().await?.map(|a| a.tenant.id);
            let tenants = device.tenants().await?;
            if output.json {
                let listed: Vec<serde_json::Value> = tenants
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "tenant": t.tenant,
                            "role": t.role,
                            "current": Some(t.tenant.id) == current,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&listed)?);
            } else {
                for t in &tenants {
                    let mark = if Some(t.tenant.id) == current {
                        '*'
                    } else {
                        ' '
                    };
                    println!(
                        "{mark} {}  {:<12} {:<9} {}",
                        t.tenant.id,
                        format!("{:?}", t.tenant.tenant_type).to_lowercase(),
                        format!("{:?}", t.role).to_lowercase(),
                        t.tenant.name
                    );
                }
            }
        }
        TenantCommand::Switch { id, output } => {
            let account = device.switch_tenant(&id).await?;
            if output.json {
                let v = serde_json::json!({"tenant": account.tenant, "role": account.role});
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("now in tenant {} ({:?})", account.tenant.name, account.role);
            }
        }
    }
    Ok(())
}

pub(crate) async fn status(device: &Client, output: Output) -> anyhow::Result<()> {
    let s = device.status().await?;
    if output.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("device     {}", s.device_id);
    println!("data       {}", s.data_dir.display());
    match (&s.signed_in_as, &s.server) {
        (Some(who), Some(server)) => println!("signed in  {who} on {server} (tenant {})", s.tenant),
        _ => println!("signed in  no (sessions stay on this device until `stint login`)"),
    }
    if let Some(kept) = &s.login_kept_in {
        println!("login in   {kept}");
    }
    println!("sessions   {}", s.sessions);
    println!("replica    {:.1} KB", s.replica_bytes as f64 / 1024.0);
    println!(
        "agent      {}",
        if device.via_agent() {
            "running (this command went through it)"
        } else {
            "not running"
        }
    );
    let sync = &s.sync;
    let last = sync.last_sync.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    println!(
        "sync       {} pending, {} conflicts, {} set aside; last {last}",
        sync.pending, sync.conflicts, sync.set_aside
    );
    Ok(())
}
