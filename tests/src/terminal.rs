//! A command run on a terminal, as a person types at it: a pseudo-terminal
//! is its standard input, output and controlling terminal (so password
//! prompts, which read `/dev/tty`, work too), and each prompt is answered
//! as it appears.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How a command run on a terminal ended, and everything it showed there
/// (the answers typed included, as the terminal echoes them).
#[derive(Debug)]
pub struct Typed {
    /// Its exit status.
    pub status: ExitStatus,
    /// The terminal's text, `\r` removed.
    pub screen: String,
}

/// What to type at a prompt.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Typed at once.
    Text(String),
    /// Typed once the terminal stopped echoing (as a password prompt
    /// does); if it never does, the run fails.
    Secret(String),
}

/// Runs `command` on a new pseudo-terminal. Whenever the last line it
/// printed since the previous answer is a prompt `answer` knows (it gets
/// that line, trimmed), the answer is typed, then Enter.
///
/// # Errors
/// If the terminal cannot be made, the command does not start, or it runs
/// longer than `timeout` (it is killed).
#[allow(unsafe_code)]
pub fn on_terminal(
    mut command: Command,
    answer: impl Fn(&str) -> Option<Answer>,
    timeout: Duration,
) -> anyhow::Result<Typed> {
    let (mut master, slave) = {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors it opened into the two
        // integers; null name, termios and window size ask for defaults.
        let made = unsafe {
            libc::openpty(
                &raw mut master,
                &raw mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if made != 0 {
            return Err(std::io::Error::last_os_error()).context("openpty");
        }
        // SAFETY: both were just opened and are owned by nobody else.
        unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
    };
    command
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: between fork and exec only async-signal-safe calls: a new
    // session, whose controlling terminal becomes the pseudo-terminal
    // (already its standard input).
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().context("starting the command")?;
    // Our copies of the terminal's side went to the child (and were
    // dropped with `command`'s Stdio when it spawned).
    drop(command);
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut reader = master.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO once the child and its descendants closed the
        // terminal.
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let (mut screen, mut since_answer) = (String::new(), String::new());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.max(Duration::from_millis(1))) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).replace('\r', "");
                screen.push_str(&text);
                since_answer.push_str(&text);
                let last = since_answer.lines().last().unwrap_or_default().trim();
                let reply = match answer(last) {
                    None => continue,
                    Some(Answer::Text(reply)) => reply,
                    Some(Answer::Secret(reply)) => {
                        until_echo_is_off(&master, deadline, &screen)?;
                        reply
                    }
                };
                since_answer.clear();
                master.write_all(format!("{reply}\n").as_bytes())?;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("still running after {timeout:?}; the terminal showed:\n{screen}");
            }
        }
    }
    let status = child.wait()?;
    Ok(Typed { status, screen })
}

/// Waits until the terminal no longer echoes what is typed.
#[allow(unsafe_code)]
fn until_echo_is_off(master: &File, deadline: Instant, screen: &str) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: a zeroed termios is a valid out-parameter; on Linux the
        // master side reports the terminal's settings.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(master.as_raw_fd(), &raw mut settings) } != 0 {
            return Err(std::io::Error::last_os_error()).context("tcgetattr");
        }
        if settings.c_lflag & libc::ECHO == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("a secret was asked with echo on; the terminal showed:\n{screen}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
