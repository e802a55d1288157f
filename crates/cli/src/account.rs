//! `stint login|register|logout|whoami|status|tenant`: prompts, then one
//! call into `stint-client`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use stint_client::Client;
use stint_model::api::RegisterRequest;

use crate::cli::{Credentials, Output, TenantCommand};

/// Asks for what was not given: on a terminal, a prompt; without one, a
/// clear refusal naming the flag (a script must not hang on a prompt).
struct Asker {
    /// Standard input is a terminal and does not carry the password.
    terminal: bool,
}

impl Asker {
    fn new(credentials: &Credentials) -> Self {
        Self {
            terminal: !credentials.password_stdin && std::io::stdin().is_terminal(),
        }
    }

    fn line(label: &str) -> anyhow::Result<String> {
        eprint!("{label}: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_owned())
    }

    /// `given`, else asked (`label`), else an error naming `flag`. An
    /// empty answer is refused unless `optional`.
    fn text(
        &self,
        given: Option<&str>,
        label: &str,
        flag: &str,
        optional: bool,
    ) -> anyhow::Result<String> {
        if let Some(given) = given {
            return Ok(given.trim().to_owned());
        }
        if optional && !self.terminal {
            return Ok(String::new());
        }
        anyhow::ensure!(
            self.terminal,
            "{label} not given, and no terminal to ask for it: give {flag}"
        );
        let answer = Self::line(
            if optional {
                format!("{label} (Enter to leave it empty)")
            } else {
                label.to_owned()
            }
            .as_str(),
        )?;
        anyhow::ensure!(optional || !answer.is_empty(), "{label} is needed");
        Ok(answer)
    }

    /// The server's URL: SERVER, `--server` or `STINT_SERVER`, else asked;
    /// `hint` says how to give it (it names the command asking).
    fn server(&self, credentials: &Credentials, hint: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            credentials.url.is_none() || credentials.server.is_none(),
            "the server is given twice (as SERVER and --server or STINT_SERVER): give it once"
        );
        let given = credentials.url.as_deref().or(credentials.server.as_deref());
        self.text(given, "Server URL", hint, false)
    }

    fn email(&self, credentials: &Credentials) -> anyhow::Result<String> {
        self.text(credentials.email.as_deref(), "Email", "--email", false)
    }

    /// The password: the first line of standard input with
    /// `--password-stdin`, else asked without echo (twice when `confirm`:
    /// a new password mistyped once would lock its owner out).
    fn password(&self, credentials: &Credentials, confirm: bool) -> anyhow::Result<String> {
        let password = if credentials.password_stdin {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        } else if std::io::stdin().is_terminal() {
            let password =
                rpassword::prompt_password("Password: ").context("reading the password")?;
            if confirm {
                let again = rpassword::prompt_password("Password again: ")
                    .context("reading the password")?;
                anyhow::ensure!(
                    password == again,
                    "the two passwords differ: nothing was created"
                );
            }
            password
        } else {
            anyhow::bail!("no terminal to ask the password on: use --password-stdin");
        };
        anyhow::ensure!(!password.is_empty(), "a password is needed");
        Ok(password)
    }
}

pub(crate) async fn login(device: &Client, credentials: &Credentials) -> anyhow::Result<()> {
    let asker = Asker::new(credentials);
    let server = asker.server(credentials, "the server's URL (`stint login URL`)")?;
    let email = asker.email(credentials)?;
    let password = asker.password(credentials, false)?;
    let signed_in = device.login(&server, &email, &password).await?;
    println!(
        "signed in to {} as {} ({})",
        signed_in.server, signed_in.user.email, signed_in.tenant.name
    );
    Ok(())
}

pub(crate) async fn register(
    device: &Client,
    credentials: &Credentials,
    first_name: Option<String>,
    last_name: Option<String>,
) -> anyhow::Result<()> {
    let asker = Asker::new(credentials);
    let server = asker.server(credentials, "the server's URL (`stint register URL`)")?;
    let email = asker.email(credentials)?;
    let first_name = asker.text(first_name.as_deref(), "First name", "--first-name", true)?;
    let last_name = asker.text(last_name.as_deref(), "Last name", "--last-name", true)?;
    let password = asker.password(credentials, true)?;
    let req = RegisterRequest {
        email,
        password,
        first_name,
        last_name,
        device_id: None,
    };
    let signed_in = device.register(&server, req).await?;
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
        return Err(stint_client::ClientError::NotSignedIn("run `stint login URL`".into()).into());
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
    println!(
        "replica    {:.1} KB on disk, at most {} MB in memory (STINT_REPLICA_CACHE_MB)",
        s.replica_bytes as f64 / 1024.0,
        s.replica_cache_bytes / (1024 * 1024)
    );
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
