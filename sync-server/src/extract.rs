//! Extractors whose rejections are `ApiError`s, so every failure, even a
//! malformed body or path, answers `{code, message}` in JSON.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use stint_model::{
    Audit, AuditEventType, AuthSessionId, DeviceId, ErrorCode, TenantId, TokenFamily, UserId,
    UserRole,
};

use crate::error::ApiError;
use crate::routes::CallerTenant;
use crate::state::{AppState, audit_event};

/// A JSON body, decoded in one plain pass. Only a body that does not
/// decode is decoded again, through axum's `Json`, whose error names the
/// field at fault: tracking that path on every body made decoding a third
/// slower, and sync pushes are megabytes.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let plain_json = req
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v == "application/json");
        if !plain_json {
            // Any other content type, JSON or not, as axum judges it.
            let axum::Json(value) = axum::Json::from_request(req, state).await?;
            return Ok(Self(value));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        if let Ok(value) = serde_json::from_slice(&bytes) {
            return Ok(Self(value));
        }
        let axum::Json(value) = axum::Json::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ApiPath<T>(pub(crate) T);

/// Query parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                let (field, reason) = field_and_reason(&e.body_text());
                ApiError::invalid(field, reason)
            }
            JsonRejection::JsonSyntaxError(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "the body is not valid JSON",
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::BadRequest,
                "expected `Content-Type: application/json`",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "the body is larger than the server accepts",
            ),
            other => ApiError::new(other.status(), ErrorCode::BadRequest, other.body_text()),
        }
    }
}

/// Splits axum's "Failed to deserialize …: `path`: reason at line 1 column 9"
/// into the field (`.` for the body itself) and the reason.
fn field_and_reason(text: &str) -> (String, String) {
    let detail = text.split_once(": ").map_or(text, |(_, d)| d);
    let detail = detail.split(" at line ").next().unwrap_or(detail);
    if let Some(rest) = detail.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return (field.to_owned(), "is required".to_owned());
    }
    match detail.split_once(": ") {
        Some((field, reason)) if !field.contains(' ') => (field.to_owned(), reason.to_owned()),
        _ => (".".to_owned(), detail.to_owned()),
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A path that does not parse (an id that is not a UUID) names nothing.
        tracing::debug!(rejection = %rejection.body_text(), "unparseable path");
        ApiError::not_found("not found: the path does not name a valid object")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            rejection.body_text(),
        )
    }
}

/// Where a request comes from, for audit and throttling.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientMeta {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
            user_agent: parts
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(500).collect()),
        })
    }
}

/// The caller, authenticated: a valid access token of a live login, and a
/// membership of the token's tenant. The tenant of every request comes from
/// here, never from the body.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) user: UserId,
    pub(crate) tenant: TenantId,
    pub(crate) role: UserRole,
    pub(crate) family: TokenFamily,
    /// The device the login is bound to: pushes and pulls are its own.
    pub(crate) device: DeviceId,
    /// The personal tenant, where the user's account lives.
    pub(crate) home: TenantId,
    pub(crate) meta: ClientMeta,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("sign in: send `Authorization: Bearer <access token>`")
            })?;
        let claims = state.tokens.verify(token.trim()).map_err(|e| {
            tracing::debug!(%e, "token refused");
            ApiError::unauthorized("the access token is invalid or expired")
        })?;
        let (membership, device) = live_login(state, claims.tid, claims.sub, claims.sid).await?;
        let meta = ClientMeta::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        if let Some(caller) = parts.extensions.get::<CallerTenant>() {
            caller.set(claims.tid);
        }
        Ok(Self {
            user: claims.sub,
            tenant: claims.tid,
            role: membership.role,
            family: claims.fam,
            device,
            home: membership.user_tenant_id,
            meta,
        })
    }
}

/// The membership and device of a login that is still live: not signed
/// out, and its user still a member of its tenant.
async fn live_login(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    login: AuthSessionId,
) -> Result<(stint_model::Membership, DeviceId), ApiError> {
    let membership = state
        .db
        .members()
        .get(tenant, user)
        .await?
        .ok_or_else(|| ApiError::unauthorized("you are no longer a member of this tenant"))?;
    match state.db.auth_sessions().get(tenant, login).await {
        Ok(login) if login.revoked_at.is_none() => Ok((membership, login.device())),
        _ => Err(ApiError::unauthorized("this login was signed out")),
    }
}

impl Auth {
    /// Whether the caller's login is still live (not signed out, still a
    /// member): a long-lived answer, such as the live channel, asks again
    /// now and then.
    pub(crate) async fn still_live(&self, state: &AppState) -> bool {
        let member = state.db.members().get(self.tenant, self.user).await;
        let revoked = state
            .db
            .auth_sessions()
            .family_revoked(self.tenant, self.family)
            .await;
        matches!((member, revoked), (Ok(Some(_)), Ok(false)))
    }

    /// Refuses Viewers (403), recording the attempt.
    pub(crate) async fn require_write(&self, state: &AppState) -> Result<(), ApiError> {
        self.require(
            state,
            self.role.can_write(),
            "your role can read but not change",
        )
        .await
    }

    /// Refuses all but Admins (403), recording the attempt.
    pub(crate) async fn require_admin(&self, state: &AppState) -> Result<(), ApiError> {
        self.require(
            state,
            self.role.can_manage_members(),
            "only an Admin may do this",
        )
        .await
    }

    /// Refuses those who may not read the audit log (403).
    pub(crate) async fn require_audit_reader(&self, state: &AppState) -> Result<(), ApiError> {
        self.require(
            state,
            self.role.can_read_audit(),
            "only Admins and Managers read the audit log",
        )
        .await
    }

    /// An audit event of this caller in the tenant they act in, for a
    /// write to record in its own transaction
    /// ([`WriteCtx::audited`](stint_db::WriteCtx::audited)).
    pub(crate) fn event(&self, event: AuditEventType, data: serde_json::Value) -> Audit {
        audit_event(self.tenant, Some(self.user), event, data, &self.meta)
    }

    /// Records an audit event of this caller in the tenant they act in,
    /// with no write of its own (a read, a refusal).
    pub(crate) async fn audit(
        &self,
        state: &AppState,
        event: AuditEventType,
        data: serde_json::Value,
    ) {
        state
            .audit(self.tenant, Some(self.user), event, data, &self.meta)
            .await;
    }

    async fn require(&self, state: &AppState, allowed: bool, why: &str) -> Result<(), ApiError> {
        if allowed {
            return Ok(());
        }
        self.audit(
            state,
            AuditEventType::UnauthorizedAccess,
            serde_json::json!({"role": self.role, "reason": why}),
        )
        .await;
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            why,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::field_and_reason;

    #[test]
    fn fields_of_body_errors() {
        let check = |text: &str, field: &str, reason: &str| {
            assert_eq!(
                field_and_reason(text),
                (field.to_owned(), reason.to_owned()),
                "{text}"
            );
        };
        check(
            "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 23",
            "name",
            "is required",
        );
        check(
            "Failed to deserialize the JSON body into the target type: tags[0]: invalid type: integer `1`, expected a string at line 1 column 12",
            "tags[0]",
            "invalid type: integer `1`, expected a string",
        );
        check(
            "Failed to deserialize the JSON body into the target type: invalid type: string \"x\", expected struct CreateSessionRequest at line 1 column 3",
            ".",
            "invalid type: string \"x\", expected struct CreateSessionRequest",
        );
    }
}
