//! Sync: devices push their edits and pull everyone's, and hear over a
//! live channel when there is something new to pull.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::extract::Request;
use axum::extract::State;
use axum::http::Method;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::Stream;
use serde::Deserialize;
use stint_db::LogPosition;
use stint_model::sync::{
    MAX_BATCH_MUTATIONS, MAX_PULL_BYTES, MAX_PULL_LIMIT, MAX_PUSH_BATCHES, PullResponse,
    PushRequest, PushResponse,
};
use stint_model::{ErrorBody, ErrorCode, TenantId, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(push))
        .routes(routes!(pull))
        .routes(routes!(events))
}

/// Applies a device's edits, batch by batch, each once (a retried push
/// changes nothing); answers when all are durable.
#[utoipa::path(post, path = "/sync/push", tag = "sync", security(("bearer" = [])),
    request_body = PushRequest,
    responses(
        (status = OK, body = PushResponse, description = "One result per mutation"),
        (status = FORBIDDEN, body = ErrorBody, description = "Viewers cannot push; a push names another device than the login's"),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
    ),
)]
async fn push(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    auth.require_write(&state).await?;
    if req.batches.len() > MAX_PUSH_BATCHES {
        return Err(ApiError::invalid(
            "batches",
            format!("at most {MAX_PUSH_BATCHES} per push"),
        ));
    }
    if req
        .batches
        .iter()
        .any(|b| b.is_empty() || b.len() > MAX_BATCH_MUTATIONS)
    {
        return Err(ApiError::invalid(
            "batches",
            format!("each batch holds 1 to {MAX_BATCH_MUTATIONS} mutations"),
        ));
    }
    // The device is the login's. A push naming another is refused, not
    // rewritten: a client that believes it is someone else must hear so.
    if req.device_id.is_some_and(|d| d != auth.device) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!(
                "this login is device {}: a push is the login's own device's",
                auth.device
            ),
        ));
    }
    let numbers = req.batches.iter().flatten().map(|m| m.number);
    if !numbers.is_sorted_by(|a, b| a < b) {
        return Err(ApiError::invalid(
            "batches",
            "mutation numbers must increase",
        ));
    }
    let results = state
        .db
        .sync()
        .push(
            auth.tenant,
            auth.user,
            auth.device,
            &req.batches,
            stint_model::now(),
        )
        .await?;
    Ok(Json(PushResponse { results }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PullQuery {
    /// Where the last pull ended; absent: from the beginning.
    cursor: Option<String>,
    /// Most changes in the page (1–1000, default 500).
    limit: Option<usize>,
    /// `true`: leave out what the login's device pushed and holds already
    /// (the cursor still moves past it), as a device's sync does; a device
    /// pulling everything again, or a script, hears of everything.
    except_own: Option<bool>,
}

/// The tenant's records changed after the cursor, in commit order.
#[utoipa::path(get, path = "/sync/pull", tag = "sync", security(("bearer" = [])),
    params(PullQuery),
    responses(
        (status = OK, body = PullResponse),
        (status = BAD_REQUEST, body = ErrorBody, description = "Not a cursor"),
        (status = GONE, body = ErrorBody, description = "`refetch`: the cursor is older than the compacted log, or from another store; pull again without one"),
    ),
)]
async fn pull(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>, ApiError> {
    let limit = query.limit.unwrap_or(500);
    if !(1..=MAX_PULL_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("between 1 and {MAX_PULL_LIMIT}"),
        ));
    }
    let after = match &query.cursor {
        Some(cursor) => Some(Cursor::decode(cursor)?.position_in(&state)?),
        None => None,
    };
    let page = state
        .db
        .sync()
        .pull(
            auth.tenant,
            auth.user,
            after,
            limit,
            MAX_PULL_BYTES,
            query.except_own.unwrap_or(false).then_some(auth.device),
        )
        .await?;
    let cursor = page.last.or(after).map_or_else(String::new, |position| {
        Cursor {
            store: state.identity.store_id,
            position,
        }
        .encode()
    });
    Ok(Json(PullResponse {
        changes: page.records,
        cursor,
        more: page.more,
    }))
}

fn refetch(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        ErrorCode::Refetch,
        format!("this cursor can no longer be followed ({why}): pull again without a cursor"),
    )
}

/// Middleware: after a successful write by a signed-in caller (a push, or
/// any REST change), the devices listening to the caller's tenant hear of
/// it. One place for every write, so no handler can forget.
pub(super) async fn announce_writes(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !writes {
        return next.run(request).await;
    }
    let caller = CallerTenant::default();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    if let Some(tenant) = caller.get()
        && response.status().is_success()
    {
        state.changed(tenant);
    }
    response
}

/// Where the `Auth` extractor leaves the tenant of the caller it
/// authenticated, for `announce_writes` to read once the handler is done:
/// the token is verified once, by `Auth`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallerTenant(Arc<OnceLock<TenantId>>);

impl CallerTenant {
    pub(crate) fn set(&self, tenant: TenantId) {
        let _ = self.0.set(tenant);
    }

    fn get(&self) -> Option<TenantId> {
        self.0.get().copied()
    }
}

/// A pull cursor: the store it comes from and a position in its log.
///
/// Opaque to devices. The store's id makes a cursor from another store (a
/// server moved from the embedded store to FoundationDB, whose log
/// positions differ) answer `refetch` instead of skipping or repeating.
struct Cursor {
    store: uuid::Uuid,
    position: LogPosition,
}

impl Cursor {
    fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(28);
        bytes.extend_from_slice(self.store.as_bytes());
        bytes.extend_from_slice(&self.position.0);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn decode(text: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "`cursor` is not a cursor this server gave",
            )
        };
        if text.is_empty() {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let (store, position) = bytes.split_at_checked(16).ok_or_else(bad)?;
        Ok(Self {
            store: uuid::Uuid::from_slice(store).map_err(|_| bad())?,
            position: LogPosition(position.try_into().map_err(|_| bad())?),
        })
    }

    fn position_in(&self, state: &AppState) -> Result<LogPosition, ApiError> {
        if self.store == state.identity.store_id {
            Ok(self.position)
        } else {
            Err(refetch("it comes from another store"))
        }
    }
}

/// How often a live channel asks whether its login is still live.
const LIVE_CHECK: Duration = Duration::from_secs(5);

/// A live channel: an event `changed` whenever the tenant has new changes
/// to pull (and `ready` once connected), so that devices pull at once
/// instead of polling. It ends when its login does (signed out, or its
/// member removed): the login is checked again every few seconds. A user
/// holds a bounded number of them at once (429 beyond).
#[utoipa::path(get, path = "/sync/events", tag = "sync", security(("bearer" = [])),
    responses(
        (status = OK, content_type = "text/event-stream", description = "Server-Sent Events: `ready`, then `changed`"),
        (status = TOO_MANY_REQUESTS, body = ErrorBody, description = "This user holds as many live channels as allowed"),
    ),
)]
async fn events(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Some(held) = state.streams.open(auth.user) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!(
                "at most {} live channels per user at once: close one first",
                state.streams.per_user()
            ),
        ));
    };
    let receiver = state.subscribe();
    let tenant = auth.tenant;
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("")) });
    let mut check = tokio::time::interval(LIVE_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let changed = || Ok(Event::default().event("changed").data(""));
    let live = (receiver, check, held, state, auth);
    let changes = futures::stream::unfold(live, move |mut live| async move {
        let (receiver, check, _held, state, auth) = &mut live;
        loop {
            tokio::select! {
                news = receiver.recv() => match news {
                    Ok(news) if news == tenant => return Some((changed(), live)),
                    Ok(_) => {}
                    // Missed some: telling once covers them all.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Some((changed(), live));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = check.tick() => {
                    if !auth.still_live(state).await {
                        return None;
                    }
                }
            }
        }
    });
    Ok(Sse::new(futures::StreamExt::chain(ready, changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// How many live channels each user holds, bounded.
#[derive(Debug)]
pub(crate) struct Streams {
    per_user: usize,
    open: std::sync::Mutex<std::collections::HashMap<UserId, usize>>,
}

impl Streams {
    pub(crate) fn new(per_user: usize) -> Arc<Self> {
        Arc::new(Self {
            per_user,
            open: std::sync::Mutex::default(),
        })
    }

    fn per_user(&self) -> usize {
        self.per_user
    }

    /// One more channel of `user`, if it may have one; held until dropped.
    fn open(self: &Arc<Self>, user: UserId) -> Option<StreamHeld> {
        let mut open = self.open.lock().expect("stream counts");
        let count = open.entry(user).or_default();
        if *count >= self.per_user {
            return None;
        }
        *count += 1;
        Some(StreamHeld {
            streams: Arc::clone(self),
            user,
        })
    }
}

/// A live channel being held; closing it gives its place back.
#[derive(Debug)]
struct StreamHeld {
    streams: Arc<Streams>,
    user: UserId,
}

impl Drop for StreamHeld {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().expect("stream counts");
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}
