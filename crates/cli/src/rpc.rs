//! `stint rpc [--agent]`: the local protocol on stdin and stdout, for
//! editors that can only start a process.

/// Relays (or serves) the protocol for the device in `dir`; with `agent`,
/// through an agent started here when none runs.
pub(crate) async fn run(dir: &std::path::Path, agent: bool) -> anyhow::Result<()> {
    let device = if agent {
        with_agent(dir).await?
    } else {
        stint_client::connect(dir).await?
    };
    Ok(device
        .pipe(stdin_on_a_thread(), tokio::io::stdout())
        .await?)
}

/// Standard input, read on a thread of its own. tokio's stdin reads on a
/// blocking thread that cannot be stopped, and the runtime's end waits
/// for it: once the owner went away, `stint rpc` would end only at the
/// editor's next line, and a window that only listens would never learn
/// that it must start it again. A thread of our own ends with the process.
fn stdin_on_a_thread() -> tokio::io::DuplexStream {
    use std::io::Read as _;
    use tokio::io::AsyncWriteExt as _;
    let (mut to_pipe, from_stdin) = tokio::io::duplex(64 * 1024);
    let runtime = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = match stdin.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            // An error: the pipe stopped reading (it ended).
            if runtime
                .block_on(to_pipe.write_all(&buffer[..read]))
                .is_err()
            {
                break;
            }
        }
        // `to_pipe` dropped: the pipe reads the end of the input.
    });
    from_stdin
}

/// The device through its agent: the one running, else one started here
/// in the background, in a process group of its own so that it outlives
/// whoever started it (an editor stopping its `stint rpc`). When the
/// agent cannot start (another process holds the replica), the replica is
/// reached as `stint rpc` alone would.
async fn with_agent(dir: &std::path::Path) -> anyhow::Result<stint_client::Client> {
    use anyhow::Context as _;
    use std::os::unix::fs::DirBuilderExt;
    use std::os::unix::process::CommandExt;
    if let Some(client) = stint_client::connect_agent(dir).await? {
        return Ok(client);
    }
    // A first run: the data directory is made as the device makes it.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("agent.log"))
        .context("the agent's log in the data directory")?;
    let mut agent =
        std::process::Command::new(std::env::current_exe().context("this program's path")?)
            .arg("agent")
            .env("STINT_DATA_DIR", dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting `stint agent`")?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(client) = stint_client::connect_agent(dir).await? {
            return Ok(client);
        }
        let ended = agent.try_wait().context("the agent's state")?;
        if ended.is_some() || tokio::time::Instant::now() >= deadline {
            eprintln!(
                "stint rpc: the agent did not start (see {}); serving here",
                dir.join("agent.log").display()
            );
            return Ok(stint_client::connect(dir).await?);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
