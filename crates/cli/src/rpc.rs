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
    Ok(device.pipe(tokio::io::stdin(), tokio::io::stdout()).await?)
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
