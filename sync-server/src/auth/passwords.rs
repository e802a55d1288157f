//! Password hashing: Argon2id (m = 19 MiB, t = 2, p = 1), PHC strings.
//!
//! Each hash takes tens of milliseconds, a core and 19 MiB, so hashes run on
//! a few dedicated threads at low scheduling priority, fed by a queue: a
//! burst of logins waits its turn there, and when cores are scarce the
//! scheduler serves every other request first, so logins slow down instead
//! of everything else. An unknown account is checked against a dummy hash,
//! so it costs the same time as a wrong password and answers the same.
//!
//! The queue is bounded: when `queue` hashes already wait, another is
//! refused at once ([`Hashing::Busy`], a 503 with `Retry-After`) instead of
//! waiting without end; new accounts may fill only half of it, so a flood
//! of registrations never starves logins.

use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};
use stint_model::ValidationError;
use tokio::sync::oneshot;

/// Shortest and longest passwords accepted, in bytes.
const MIN_LEN: usize = 8;
const MAX_LEN: usize = 1_024;

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) matches: bool,
    /// The stored hash used other parameters: store a fresh one.
    pub(crate) needs_rehash: bool,
}

/// A unit of work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Why a hash was not computed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Hashing {
    /// The queue is full: try again in a moment.
    #[error("the server is busy hashing passwords")]
    Busy,
    /// The hashing itself failed.
    #[error("{0}")]
    Failed(#[from] anyhow::Error),
}

/// What a hash is for: new accounts may use half of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A registration's password.
    NewAccount,
    /// Anything else: a login, a rehash, a password change.
    Account,
}

pub(crate) struct Passwords {
    queue: mpsc::Sender<Job>,
    /// Room in the queue, for everyone.
    room: Arc<Semaphore>,
    /// The part of that room new accounts may take.
    room_for_new: Arc<Semaphore>,
    threads: usize,
    /// A hash of a random password, to spend the same time on unknown users.
    dummy: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// Checks the password policy.
pub(crate) fn check_policy(field: &str, password: &str) -> Result<(), ValidationError> {
    if password.len() < MIN_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if password.len() > MAX_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_LEN} bytes"),
        ));
    }
    Ok(())
}

impl Passwords {
    /// Starts `threads` hashing threads, with room for `room` hashes in
    /// flight.
    pub(crate) fn new(threads: usize, room: usize) -> anyhow::Result<Self> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        let job = jobs.lock().expect("hashing queue").recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the server is stopping
                        }
                    }
                })?;
        }
        let random: [u8; 16] = rand::random();
        let dummy = hash_now(&random)?;
        Ok(Self {
            queue,
            room: Arc::new(Semaphore::new(room.max(2))),
            room_for_new: Arc::new(Semaphore::new(room.max(2) / 2)),
            threads,
            dummy,
        })
    }

    /// Runs `work` on a hashing thread, if there is room in the queue.
    async fn on_hashing_thread<T: Send + 'static>(
        &self,
        purpose: Purpose,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Hashing> {
        let take = |room: &Arc<Semaphore>| -> Result<OwnedSemaphorePermit, Hashing> {
            Arc::clone(room)
                .try_acquire_owned()
                .map_err(|_| Hashing::Busy)
        };
        let new = match purpose {
            Purpose::NewAccount => Some(take(&self.room_for_new)?),
            Purpose::Account => None,
        };
        let permits = (take(&self.room)?, new);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Box::new(move || {
                // The room is given back once the hash is done, not when
                // the request gives up waiting for it.
                let _permits = permits;
                let _ = reply.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the hashing threads stopped"))?;
        Ok(answer.await.map_err(anyhow::Error::from)??)
    }

    /// A PHC string for `password`.
    pub(crate) async fn hash(&self, password: String, purpose: Purpose) -> Result<String, Hashing> {
        self.on_hashing_thread(purpose, move || hash_now(password.as_bytes()))
            .await
    }

    /// Checks `password` against `phc`, or against the dummy hash when there
    /// is no account (the answer is then always "no", in the same time).
    pub(crate) async fn verify(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<Verdict, Hashing> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.clone());
        self.on_hashing_thread(Purpose::Account, move || {
            let parsed =
                PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(Verdict {
                matches: matches && known,
                needs_rehash: known && !is_current(&parsed),
            })
        })
        .await
    }
}

/// Makes the calling thread yield to the server's other threads when cores
/// are scarce (Linux applies `setpriority` per thread).
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: plain system calls on the calling thread's own id.
    #[allow(unsafe_code)]
    let failed = unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19) != 0
    };
    if failed {
        tracing::debug!("could not lower the hashing thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

fn hash_now(password: &[u8]) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

/// Whether a stored hash uses today's algorithm and parameters.
fn is_current(hash: &PasswordHash) -> bool {
    let wanted = Params::default();
    hash.algorithm.as_str() == "argon2id"
        && Params::try_from(hash).is_ok_and(|p| {
            (p.m_cost(), p.t_cost(), p.p_cost())
                == (wanted.m_cost(), wanted.t_cost(), wanted.p_cost())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verify_rehash_and_unknown_users() {
        let passwords = Passwords::new(2, 8).unwrap();
        let phc = passwords
            .hash("correct horse".into(), Purpose::Account)
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let check = |v: Verdict, matches, needs_rehash| {
            assert_eq!(
                v,
                Verdict {
                    matches,
                    needs_rehash
                }
            )
        };
        check(
            passwords
                .verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap(),
            true,
            false,
        );
        check(
            passwords
                .verify("wrong horse".into(), Some(phc))
                .await
                .unwrap(),
            false,
            false,
        );
        check(
            passwords
                .verify("correct horse".into(), None)
                .await
                .unwrap(),
            false,
            false,
        );

        // A hash with weaker parameters still verifies, and asks for a rehash.
        let weak = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"old secret")
        .unwrap()
        .to_string();
        check(
            passwords
                .verify("old secret".into(), Some(weak))
                .await
                .unwrap(),
            true,
            true,
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_keeps_room_for_logins() {
        let passwords = Arc::new(Passwords::new(1, 4).unwrap());
        // Eight registrations at once: two fit (half of four), the rest
        // are refused without waiting.
        let registrations: Vec<_> = (0..8)
            .map(|_| {
                let passwords = Arc::clone(&passwords);
                tokio::spawn(async move {
                    passwords
                        .hash("correct horse".into(), Purpose::NewAccount)
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        // Meanwhile a login still gets its turn.
        let login = passwords.verify("correct horse".into(), None).await;
        assert!(login.is_ok(), "{login:?}");
        let mut busy = 0;
        for registration in registrations {
            match registration.await.unwrap() {
                Ok(_) => {}
                Err(Hashing::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(busy >= 5, "{busy} of 8 refused");
        // Once the queue drains there is room again.
        assert!(
            passwords
                .hash("correct horse".into(), Purpose::NewAccount)
                .await
                .is_ok()
        );
    }

    #[test]
    fn policy() {
        assert!(check_policy("password", "12345678").is_ok());
        assert_eq!(
            check_policy("password", "short").unwrap_err().field,
            "password"
        );
        assert!(check_policy("password", &"x".repeat(1025)).is_err());
    }
}
