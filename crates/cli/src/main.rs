//! # stint
//!
//! The command line over `stint-client`. `cli.rs` declares the commands,
//! `session.rs`, `account.rs`, `sync.rs`, `files.rs` and `shell.rs` run them (one call into the client each), and this file
//! maps failures to messages and exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | failed (the message says why) |
//! | 2 | wrong usage (clap) |
//! | 3 | not found, or ambiguous id |
//! | 4 | invalid input |
//! | 5 | the device's data cannot be used (e.g. another process holds it) |
//! | 6 | not signed in, or the login expired or was revoked |
//! | 7 | the server is unreachable |

mod account;
mod cli;
mod files;
mod rpc;
mod session;
mod shell;
mod sync;
mod workspace;

use std::process::ExitCode;

use clap::Parser;
use stint_client::ClientError;

/// The replica (sled) and sync allocate and free many small buffers per
/// record; mimalloc does that faster than glibc's malloc (`make bench-sync`:
/// a fresh device syncs about a quarter faster).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("stint: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stint: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// `stint session list | head` must end quietly when `head` closes the
/// pipe, as other Unix tools do, rather than panic on the failed write.
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: restores the default disposition of SIGPIPE, first thing,
    // before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}

async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let dir = stint_client::data_dir(cli.data_dir.as_deref())?;
    let device = async || stint_client::connect(&dir).await;
    match cli.command {
        cli::Command::Agent => {
            eprintln!("stint agent: serving {} (Ctrl-C stops)", dir.display());
            stint_client::serve_agent(&dir, stopped()).await?;
            eprintln!("stint agent: stopped");
            Ok(())
        }
        cli::Command::Rpc { agent } => rpc::run(&dir, agent).await,
        cli::Command::Session(command) => session::run(&device().await?, command).await,
        cli::Command::Workspace(command) => workspace::run(&device().await?, command).await,
        cli::Command::Login(credentials) => account::login(&device().await?, &credentials).await,
        cli::Command::Register {
            credentials,
            first_name,
            last_name,
        } => account::register(&device().await?, &credentials, first_name, last_name).await,
        cli::Command::Logout => account::logout(&device().await?).await,
        cli::Command::Tenant(command) => account::tenant(&device().await?, command).await,
        cli::Command::Whoami { output } => account::whoami(&device().await?, output).await,
        cli::Command::Status { output } => account::status(&device().await?, output).await,
        cli::Command::Sync { watch, output } => sync::sync(&device().await?, watch, output).await,
        cli::Command::Conflicts { command, output } => {
            sync::conflicts(&device().await?, command, output).await
        }
        cli::Command::Watch {
            path,
            session,
            once,
            stop,
            output,
        } => files::watch(&device().await?, path, session, once, stop, output).await,
        cli::Command::Files {
            command,
            session,
            changed_since,
            output,
        } => files::files(&device().await?, command, session, changed_since, output).await,
        cli::Command::Init { shell } => shell::init(shell, cli.data_dir.as_deref()),
        cli::Command::Hook {
            cwd,
            session,
            command,
        } => shell::hook(&dir, cwd, session, &command),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn stopped() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::NotFound(_) | ClientError::Ambiguous(_)) => 3,
        Some(ClientError::Invalid(_)) => 4,
        Some(ClientError::Profile(_)) => 5,
        Some(ClientError::NotSignedIn(_)) => 6,
        Some(ClientError::Unreachable(_)) => 7,
        _ => 1,
    }
}
