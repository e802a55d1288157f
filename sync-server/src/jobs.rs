//! Background jobs: purge expired logins, apply the audit retention, purge
//! file records soft-deleted past their retention, compact the sync log,
//! then give the store's free space back to the file system when enough of
//! the file is free. Every `job_interval`, for every active tenant, in
//! small batches so no transaction grows large.

use std::time::Duration;

use stint_model::now;

use crate::state::AppState;

const BATCH: usize = 500;

/// How often the login throttle forgets the keys back to a full
/// allowance (and the allocator gives free memory back). Not hourly with
/// the other jobs: a flood of logins under made-up emails adds a key per
/// attempt, so an hour of one would hold millions; a minute of it, a few
/// megabytes.
const THROTTLE_SHRINK_EVERY: Duration = Duration::from_secs(60);

/// Runs the jobs every `interval`, forever (until the runtime stops).
pub(crate) fn spawn(state: AppState, interval: Duration) {
    let throttle = state.throttle.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(THROTTLE_SHRINK_EVERY.min(interval));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            throttle.shrink();
            crate::memory::trim();
        }
    });
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = run_once(&state).await {
                tracing::warn!(%e, "background jobs failed; retrying next round");
            }
        }
    });
}

/// Calls a batch purge until it purges less than a batch; the total.
macro_rules! drain {
    ($purge:expr) => {{
        let mut total = 0;
        loop {
            let n = $purge.await?;
            total += n;
            if n < BATCH {
                break total;
            }
        }
    }};
}

/// One round of every job.
pub(crate) async fn run_once(state: &AppState) -> anyhow::Result<()> {
    let at = now();
    let audit_cutoff = at - state.config.audit_retention;
    let file_cutoff = at - state.config.deleted_file_retention;
    let tombstone_cutoff = at - state.config.sync_tombstone_retention;
    let (mut logins, mut events, mut files, mut changes) = (0, 0, 0, 0);
    for tenant in state.db.tenants().list_active(0).await? {
        logins += drain!(state.db.auth_sessions().purge_expired(tenant, at, BATCH));
        let revocations_cutoff = at - state.config.refresh_token_ttl;
        drain!(
            state
                .db
                .auth_sessions()
                .forget_revocations(tenant, revocations_cutoff, BATCH)
        );
        events += drain!(state.db.audit().purge_before(tenant, audit_cutoff, BATCH));
        files += drain!(state.db.files().purge_deleted(tenant, file_cutoff, BATCH));
        let mut from = None;
        loop {
            let done = state
                .db
                .sync()
                .compact(tenant, from, tombstone_cutoff, BATCH)
                .await?;
            changes += done.removed;
            match done.next {
                Some(next) => from = Some(next),
                None => break,
            }
        }
    }
    if logins + events + files + changes > 0 {
        tracing::info!(logins, events, files, changes, "purged");
    }
    compact_store(state).await
}

/// Compacts the store's file when enough of it is free: requests pause
/// meanwhile, so only when it gives back a good share.
async fn compact_store(state: &AppState) -> anyhow::Result<()> {
    let store = state.db.store();
    let Some(space) = store.space().await? else {
        return Ok(()); // the backend compacts by itself
    };
    if !space.worth_compacting() {
        return Ok(());
    }
    if let Some(done) = store.compact().await? {
        // The old file's page cache was just freed: give it back now, not
        // at the next minute's trim.
        crate::memory::trim();
        tracing::info!(
            before_bytes = done.before_bytes,
            after_bytes = done.after_bytes,
            paused_ms = done.paused.as_millis(),
            "compacted the store"
        );
    }
    Ok(())
}
