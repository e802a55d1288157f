//! The device's sync engine: push the outbox, then pull, in rounds.
//!
//! A round pushes the outbox in bounded batches (100 edits, at most 1 MB:
//! far below what the server's store allows in one transaction), several
//! to a request (the server syncs its disk once per request), settles each
//! push's results (accepted edits leave the outbox, refused ones are set
//! aside with the reason and never block the rest), then pulls pages
//! until none is left, storing each page with its cursor in one local
//! transaction. `watch` runs rounds whenever the server says something
//! changed (its live channel) or the outbox has something, backing off
//! while the server cannot be reached.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use stint_db::PushShape;
use stint_model::sync::{
    MAX_BATCH_MUTATIONS, Mutation, Outcome, PullResponse, PushRequest, PushResponse,
};
use stint_model::{ErrorBody, ErrorCode, TenantId, Timestamp};

use crate::account::{Server, server_error};
use crate::device::Device;
use crate::error::{ClientError, Result};

/// How the outbox is cut into pushes: batches of 100 edits and 1 MB at
/// most, five to a request of at most 1.5 MB (the server takes 2 MB bodies
/// by default).
const PUSH: PushShape = PushShape {
    batch_edits: MAX_BATCH_MUTATIONS,
    batch_bytes: 1_000_000,
    batches: 5,
    push_bytes: 1_500_000,
};

/// Most changes in one pulled page.
pub(crate) const PULL_PAGE: usize = 1_000;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SyncReport {
    /// Edits the server accepted.
    pub pushed: usize,
    /// Of those, how many collided with another device's edit (the losing
    /// values are kept as conflicts).
    pub conflicts: usize,
    /// Edits the server refused, set aside.
    pub set_aside: usize,
    /// Records received.
    pub pulled: usize,
    /// The cursor had to start over (the server compacted past it).
    pub refetched: bool,
}

impl Device {
    /// Runs one sync round: push everything pending, then pull everything
    /// new.
    pub async fn sync(&self) -> Result<SyncReport> {
        let credentials = self.credentials()?;
        let server = self.server(&credentials.server)?;
        let mut report = SyncReport::default();
        self.push_all(&server, credentials.tenant.id, &mut report)
            .await?;
        self.pull_all(&server, credentials.tenant.id, &mut report)
            .await?;
        self.db().outbox().mark_synced(stint_model::now()).await?;
        Ok(report)
    }

    /// Pushes the outbox, push after push. While the server applies one,
    /// the device settles the one before and reads and encodes the next,
    /// so neither side waits for the other's bookkeeping.
    ///
    /// A push the server finds too large (413: its body limit is lower
    /// than this device's pushes) is cut again one edit at a time for the
    /// rest of the round; an edit too large alone is one the server can
    /// never take: it is set aside with the reason, and the rest goes on.
    async fn push_all(
        &self,
        server: &Server,
        tenant: TenantId,
        report: &mut SyncReport,
    ) -> Result<()> {
        let outbox = self.db().outbox();
        let mut shape = PUSH;
        let mut next = encode_push(0, outbox.next_push(tenant, 0, shape).await?);
        let mut answered: Vec<(u64, Outcome)> = Vec::new();
        while let Some(current) = next {
            let token = self.access_token().await?;
            let push = server.call_encoded::<PushResponse>("/sync/push", current.body, &token);
            let meanwhile = async {
                outbox.settle(&answered).await?;
                let batches = outbox.next_push(tenant, current.last, shape).await?;
                Ok::<_, ClientError>(encode_push(current.last, batches))
            };
            let (response, following) = tokio::join!(push, meanwhile);
            answered = match response {
                Ok(response) => response
                    .results
                    .into_iter()
                    .map(|result| {
                        report.count(result.number, &result.outcome);
                        (result.number, result.outcome)
                    })
                    .collect(),
                Err(ClientError::TooLarge(why)) if current.edits > 1 => {
                    tracing::warn!(
                        "the server refused a push as too large ({why}): pushing one edit at a time"
                    );
                    shape = ONE_BY_ONE;
                    next = encode_push(
                        current.after,
                        outbox.next_push(tenant, current.after, shape).await?,
                    );
                    answered = Vec::new();
                    continue;
                }
                Err(ClientError::TooLarge(why)) => {
                    let refusal = Outcome::Rejected {
                        code: ErrorCode::PayloadTooLarge,
                        message: format!("larger than the server takes: {why}"),
                    };
                    report.count(current.last, &refusal);
                    vec![(current.last, refusal)]
                }
                Err(e) => return Err(e),
            };
            next = following?;
        }
        outbox.settle(&answered).await?;
        Ok(())
    }

    /// Pulls every page after the cursor. While one page is stored, the
    /// next is on its way.
    async fn pull_all(
        &self,
        server: &Server,
        tenant: TenantId,
        report: &mut SyncReport,
    ) -> Result<()> {
        let outbox = self.db().outbox();
        // While pulling everything again, what the server still has.
        let mut seen = std::collections::HashSet::new();
        let start = outbox.cursor(tenant).await?;
        let mut page = self.fetch(server, start.as_deref(), report).await?;
        loop {
            let Some(current) = page else {
                if report.refetched {
                    return Err(ClientError::Rejected(
                        "the server refused a pull from the beginning".into(),
                    ));
                }
                report.refetched = true;
                outbox.forget_cursor(tenant).await?;
                page = self.fetch(server, None, report).await?;
                continue;
            };
            report.pulled += current.changes.len();
            if report.refetched {
                seen.extend(current.changes.iter().map(|c| (c.kind, c.id)));
            }
            // An empty log has no position yet: nothing to store.
            let cursor = Some(current.cursor.as_str()).filter(|c| !c.is_empty());
            let store = async {
                match cursor {
                    Some(c) => outbox.store_pulled(tenant, &current.changes, c).await,
                    None => Ok(()),
                }
            };
            let next = async {
                match cursor {
                    Some(c) if current.more => self.fetch(server, Some(c), report).await.map(Some),
                    _ => Ok(None),
                }
            };
            let (stored, next) = tokio::join!(store, next);
            stored?;
            match next? {
                Some(next) => page = next,
                None => break,
            }
        }
        if report.refetched {
            outbox.forget_unseen(tenant, &seen).await?;
        }
        Ok(())
    }

    /// One page after `cursor`; `None` when the server says to start over.
    /// Refetching, the device must hear of every record the server has,
    /// its own included.
    async fn fetch(
        &self,
        server: &Server,
        cursor: Option<&str>,
        report: &SyncReport,
    ) -> Result<Option<PullResponse>> {
        let token = self.access_token().await?;
        pull(server, &token, cursor, report.refetched).await
    }

    /// The edits the server refused for good, oldest first, with the
    /// reasons: kept here, never pushed again.
    pub async fn set_aside(&self) -> Result<Vec<stint_db::SetAside>> {
        Ok(self.db().outbox().set_aside().await?)
    }

    /// What waits to sync, and when it last did.
    pub async fn sync_status(&self) -> Result<SyncStatus> {
        let outbox = self.db().outbox();
        let counts = outbox.counts().await?;
        let conflicts = match self.credentials() {
            Ok(c) => self.db().conflicts().list(c.tenant.id).await?.len(),
            Err(_) => 0,
        };
        Ok(SyncStatus {
            pending: counts.pending,
            set_aside: counts.set_aside,
            conflicts,
            last_sync: outbox.last_sync().await?,
        })
    }

    /// Runs rounds until `stop` resolves: at once, then whenever the server
    /// announces changes or `nudged` says a local edit waits, at least
    /// every `every`. While the server cannot be reached it waits 1 s,
    /// then twice as long each time, up to a minute.
    pub async fn watch(
        &self,
        every: Duration,
        nudged: &tokio::sync::Notify,
        mut on_round: impl FnMut(&Result<SyncReport>),
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let mut backoff = Backoff::default();
        let mut events: Option<reqwest::Response> = None;
        loop {
            let round = self.sync().await;
            on_round(&round);
            let wait = match &round {
                Err(ClientError::Unreachable(_)) => {
                    events = None;
                    backoff.failed()
                }
                Err(ClientError::NotSignedIn(_)) => return,
                _ => {
                    backoff.reached();
                    if events.is_none() {
                        events = self.listen().await.ok();
                    }
                    every
                }
            };
            // Any news on the live channel (`changed`, or a keep-alive
            // now and then) is worth a round, which costs a millisecond
            // when there is nothing to do; a closed channel reconnects
            // after the round.
            let announced = async {
                match events.as_mut() {
                    Some(stream) => {
                        if !matches!(stream.chunk().await, Ok(Some(_))) {
                            events = None;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(wait) => {}
                () = nudged.notified() => {}
                () = announced => {}
            }
        }
    }

    /// Opens the server's live channel.
    async fn listen(&self) -> Result<reqwest::Response> {
        let credentials = self.credentials()?;
        let token = self.access_token().await?;
        self.server(&credentials.server)?
            .listen("/sync/events", &token)
            .await
    }
}

/// How long to wait after each round that could not reach the server:
/// 1 s, then twice as long each time, up to a minute, so that a device
/// offline for a day does not knock every second; a round that reaches
/// the server starts over.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const LONGEST: Duration = Duration::from_secs(60);

    /// The wait after one more failed round.
    fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::LONGEST);
        wait
    }

    /// A round reached the server: the next failure waits 1 s again.
    fn reached(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// Pushes of one edit each: what is left once the server refused a push
/// as too large.
const ONE_BY_ONE: PushShape = PushShape {
    batch_edits: 1,
    batch_bytes: 1,
    batches: 1,
    push_bytes: 1,
};

/// A push, encoded.
struct Encoded {
    /// The number it was cut after.
    after: u64,
    /// Its last mutation number.
    last: u64,
    /// How many edits it holds.
    edits: usize,
    /// The request's JSON.
    body: Vec<u8>,
}

/// A push of `batches` (cut after `after`) as the request's JSON; `None`
/// when there is nothing to push. The server takes the device from the
/// login.
fn encode_push(after: u64, batches: Vec<Vec<Mutation>>) -> Option<Encoded> {
    let last = batches.last()?.last()?.number;
    let edits = batches.iter().map(Vec::len).sum();
    let request = PushRequest {
        device_id: None,
        batches,
    };
    // Field names are strings and values JSON already: nothing can fail.
    let body = serde_json::to_vec(&request).expect("a push encodes as JSON");
    Some(Encoded {
        after,
        last,
        edits,
        body,
    })
}

/// One page after `cursor`, without what this device pushed and holds
/// already unless `everything`; `None` when the server says to start over.
async fn pull(
    server: &Server,
    token: &str,
    cursor: Option<&str>,
    everything: bool,
) -> Result<Option<PullResponse>> {
    let limit = PULL_PAGE.to_string();
    let mut query = vec![("limit", limit.as_str())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    if !everything {
        query.push(("except_own", "true"));
    }
    let response = server.get("/sync/pull", &query, token).await?;
    if response.status() == reqwest::StatusCode::GONE {
        let body: Option<ErrorBody> = response.json().await.ok();
        if body.is_some_and(|b| b.code == ErrorCode::Refetch) {
            return Ok(None);
        }
        return Err(ClientError::Rejected("the server refused the pull".into()));
    }
    if !response.status().is_success() {
        return Err(server_error(response).await);
    }
    response
        .json()
        .await
        .map(Some)
        .map_err(|e| ClientError::Unreachable(format!("unexpected answer from the server: {e}")))
}

impl SyncReport {
    /// Counts the server's answer to one edit.
    fn count(&mut self, number: u64, outcome: &Outcome) {
        match outcome {
            Outcome::Applied { .. } | Outcome::Duplicate => self.pushed += 1,
            Outcome::Conflicted { .. } => {
                self.pushed += 1;
                self.conflicts += 1;
            }
            Outcome::Rejected { code, message } => {
                tracing::warn!(number, %code, %message, "edit refused");
                self.set_aside += 1;
            }
        }
    }
}

/// What `stint status` shows of sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SyncStatus {
    /// Local edits waiting to be pushed.
    pub pending: usize,
    /// Edits the server refused, kept aside.
    pub set_aside: usize,
    /// Open conflicts in the signed-in tenant.
    pub conflicts: usize,
    /// When a round last completed.
    pub last_sync: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        fn check(failures: usize, expected: &[u64]) {
            let mut backoff = Backoff::default();
            let waits: Vec<u64> = (0..failures).map(|_| backoff.failed().as_secs()).collect();
            assert_eq!(waits, expected, "after {failures} failures");
        }
        check(0, &[]);
        check(1, &[1]);
        check(3, &[1, 2, 4]);
        check(9, &[1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn backoff_starts_over_once_the_server_is_reached() {
        let mut backoff = Backoff::default();
        for _ in 0..8 {
            backoff.failed();
        }
        backoff.reached();
        assert_eq!(backoff.failed(), Duration::from_secs(1));
        assert_eq!(backoff.failed(), Duration::from_secs(2));
    }
}
