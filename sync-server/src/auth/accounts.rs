//! The account flows: register, login, refresh, logout, logout everywhere,
//! password change, switching tenant. Handlers call these; they hold the
//! rules (throttling, rotation, reuse detection, revocation).

use serde_json::json;
use stint_db::{DbError, WriteCtx};
use stint_model::api::{
    ChangePasswordRequest, LoginRequest, RegisterRequest, TokenResponse, UserProfile,
};
use stint_model::{
    Audit, AuditEventType, AuthSession, DeviceId, Tenant, TenantId, Timestamp, User, UserId,
    UserRole, Validate, now, validate,
};

use super::passwords::{Purpose, check_policy};
use super::tokens::hash_refresh_token;
use crate::error::ApiError;
use crate::extract::{Auth, ClientMeta};
use crate::state::{AppState, audit_event};

fn wrong_credentials() -> ApiError {
    ApiError::unauthorized("the email or the password is wrong")
}

/// 409, naming the field, so that a sign-up form shows it at the email.
fn email_taken() -> ApiError {
    ApiError::conflict("an account with this email exists").at_field("email")
}

/// Creates the account and its personal tenant, and signs in.
pub(crate) async fn register(
    state: &AppState,
    req: RegisterRequest,
    meta: &ClientMeta,
) -> Result<TokenResponse, ApiError> {
    state
        .throttle
        .register(meta.ip)
        .map_err(ApiError::too_many)?;
    let email = validate::normalize_email(&req.email);
    validate::email("email", &email)?;
    check_policy("password", &req.password)?;
    validate::optional_name("first_name", &req.first_name)?;
    validate::optional_name("last_name", &req.last_name)?;
    if state.db.users().get_by_email(&email).await?.is_some() {
        return Err(email_taken());
    }
    // A device already another account's is refused before the account is
    // made, not after (which would leave an account without a login).
    let user_id = UserId::new();
    if let Some(device) = req.device_id
        && !state
            .db
            .auth_sessions()
            .device_free_for(device, user_id)
            .await?
    {
        return Err(DbError::DeviceTaken(device).into());
    }
    let hash = state
        .passwords
        .hash(req.password, Purpose::NewAccount)
        .await?;
    let mut user = User::new(TenantId::new(), &email, req.first_name, req.last_name, hash);
    user.id = user_id;
    let tenant = Tenant::new_self_tenant(user_id, &user.full_name());
    user.tenant_id = tenant.id;
    user.validate()?;
    let audited = audit_event(
        tenant.id,
        Some(user.id),
        AuditEventType::UserRegistered,
        json!({"email": user.email}),
        meta,
    );
    let ctx = WriteCtx::now().audited(&audited);
    match state
        .db
        .users()
        .create_with_tenant(&user, &tenant, &ctx)
        .await
    {
        Err(DbError::AlreadyExists { .. }) => return Err(email_taken()),
        other => other?,
    }
    sign_in(
        state,
        &user,
        tenant,
        UserRole::Admin,
        req.device_id,
        meta,
        SignedIn::default(),
    )
    .await
}

/// Checks the password and signs in, in the personal tenant or the one asked for.
pub(crate) async fn login(
    state: &AppState,
    req: LoginRequest,
    meta: &ClientMeta,
) -> Result<TokenResponse, ApiError> {
    let email = validate::normalize_email(&req.email);
    let found = state.db.users().get_by_email(&email).await?;
    // A login from one of the account's own devices is not slowed by what
    // strangers do to the account elsewhere: they cannot lock its owner out.
    let own_device = match (req.device_id, &found) {
        (Some(device), Some(user)) => {
            state.db.auth_sessions().device_owner(device).await? == Some(user.id)
        }
        _ => false,
    };
    state
        .throttle
        .login(meta.ip, &email, own_device)
        .map_err(ApiError::too_many)?;
    let verdict = state
        .passwords
        .verify(
            req.password.clone(),
            found.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let Some(mut user) = found.filter(|u| verdict.matches && u.is_active) else {
        if let Some(user) = state.db.users().get_by_email(&email).await? {
            state
                .audit(
                    user.tenant_id,
                    Some(user.id),
                    AuditEventType::LoginFailed,
                    json!({}),
                    meta,
                )
                .await;
        }
        return Err(wrong_credentials());
    };
    if verdict.needs_rehash {
        user.password_hash = state.passwords.hash(req.password, Purpose::Account).await?;
    }
    let tenant_id = req.tenant_id.unwrap_or(user.tenant_id);
    let membership = state
        .db
        .members()
        .get(tenant_id, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such tenant"))?;
    let tenant = state.db.tenants().get(tenant_id).await?;
    let at = now();
    user.last_login_at = Some(at);
    user.updated_at = at;
    let audited = audit_event(
        tenant_id,
        Some(user.id),
        AuditEventType::UserLogin,
        json!({"device_id": req.device_id}),
        meta,
    );
    let role = membership.role;
    let signed_in = SignedIn {
        user_changed: true,
        audited: Some(&audited),
    };
    sign_in(state, &user, tenant, role, req.device_id, meta, signed_in).await
}

/// What a sign-in stores with the login's first row, in its transaction.
#[derive(Debug, Default)]
struct SignedIn<'a> {
    /// The user record changed (their last login): stored too.
    user_changed: bool,
    /// The sign-in's audit event.
    audited: Option<&'a Audit>,
}

/// Starts a token family in `tenant` and answers its first tokens.
async fn sign_in(
    state: &AppState,
    user: &User,
    tenant: Tenant,
    role: UserRole,
    device: Option<DeviceId>,
    meta: &ClientMeta,
    signed_in: SignedIn<'_>,
) -> Result<TokenResponse, ApiError> {
    let mut login = AuthSession::new(tenant.id, user.id, String::new(), state.tokens.lifetimes);
    login.refresh_token_hash = hash_refresh_token(&state.tokens.refresh_token(login.id));
    login.ip_address = meta.ip.map(|ip| ip.to_string());
    login.user_agent.clone_from(&meta.user_agent);
    // Every login is one device's: a client that names none gets one.
    login.device_id = Some(device.unwrap_or_default());
    let ctx = WriteCtx::now();
    let ctx = signed_in.audited.map_or(ctx, |event| ctx.audited(event));
    let logins = state.db.auth_sessions();
    if signed_in.user_changed {
        logins.create_signed_in(&login, user, &ctx).await?;
    } else {
        logins.create(&login, &ctx).await?;
    }
    respond(state, user, tenant, role, &login)
}

fn respond(
    state: &AppState,
    user: &User,
    tenant: Tenant,
    role: UserRole,
    login: &AuthSession,
) -> Result<TokenResponse, ApiError> {
    let (access_token, expires_in) = state
        .tokens
        .access_token(login, now())
        .map_err(|e| ApiError::internal(&e))?;
    Ok(TokenResponse {
        access_token,
        refresh_token: state.tokens.refresh_token(login.id),
        token_type: "Bearer".into(),
        expires_in,
        user: UserProfile::from(user),
        tenant,
        role,
        device_id: login.device(),
    })
}

/// Exchanges a refresh token for new tokens, rotating it.
pub(crate) async fn refresh(
    state: &AppState,
    token: &str,
    meta: &ClientMeta,
) -> Result<TokenResponse, ApiError> {
    let invalid = || {
        ApiError::unauthorized("the refresh token is invalid, expired or revoked; sign in again")
    };
    let row = state
        .db
        .auth_sessions()
        .get_by_refresh_hash(&hash_refresh_token(token))
        .await?
        .ok_or_else(invalid)?;
    state
        .throttle
        .refresh(row.token_family.as_uuid())
        .map_err(ApiError::too_many)?;
    let at = now();
    if row.revoked_at.is_some() || row.is_expired(at) {
        return Err(invalid());
    }
    // A rotation keeps the tenant and the user: looked up first, so that
    // a rotation that commits is one that is answered.
    let membership = state
        .db
        .members()
        .get(row.tenant_id, row.user_id)
        .await?
        .ok_or_else(invalid)?;
    let user = state
        .db
        .users()
        .get(membership.user_tenant_id, row.user_id)
        .await?;
    let tenant = state.db.tenants().get(row.tenant_id).await?;
    let audited = audit_event(
        row.tenant_id,
        Some(row.user_id),
        AuditEventType::TokenRefresh,
        json!({}),
        meta,
    );
    let next = if row.rotated_at.is_none() {
        let mut current = row.clone();
        let mut next = current.rotate(String::new(), state.tokens.lifetimes);
        next.refresh_token_hash = hash_refresh_token(&state.tokens.refresh_token(next.id));
        match state
            .db
            .auth_sessions()
            .rotate(
                row.tenant_id,
                row.id,
                &next,
                &WriteCtx::now().audited(&audited),
            )
            .await
        {
            Ok(()) => next,
            // Another request rotated it first: it is now the grace case.
            Err(DbError::Conflict(_)) => {
                let fresh = state.db.auth_sessions().get(row.tenant_id, row.id).await?;
                let next = already_rotated(state, &fresh, at, meta).await?;
                state.record_audit(&audited).await;
                next
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        let next = already_rotated(state, &row, at, meta).await?;
        // The successor handed out again: nothing written but the event.
        state.record_audit(&audited).await;
        next
    };
    respond(state, &user, tenant, membership.role, &next)
}

/// A token that was already exchanged is presented again. Within the grace
/// window, while its successor is unused, that was a retry (or a race): the
/// same successor is handed out again. Otherwise it is a replay of a stolen
/// token, and the whole family is revoked.
async fn already_rotated(
    state: &AppState,
    row: &AuthSession,
    at: Timestamp,
    meta: &ClientMeta,
) -> Result<AuthSession, ApiError> {
    if let (Some(rotated_at), Some(next_id)) = (row.rotated_at, row.replaced_by)
        && at - rotated_at <= state.config.refresh_grace
    {
        let next = state.db.auth_sessions().get(row.tenant_id, next_id).await?;
        if next.is_usable(at) {
            return Ok(next);
        }
    }
    let audited = audit_event(
        row.tenant_id,
        Some(row.user_id),
        AuditEventType::TokenReuseDetected,
        json!({"token_family": row.token_family}),
        meta,
    );
    let revoked = state
        .db
        .auth_sessions()
        .revoke_family(
            row.tenant_id,
            row.token_family,
            &WriteCtx::now().audited(&audited),
        )
        .await?;
    tracing::warn!(family = %row.token_family, revoked, "refresh token reused: family revoked");
    Err(ApiError::unauthorized(
        "this refresh token was already used; the login was revoked, sign in again",
    ))
}

/// Signs out this login (its token family).
pub(crate) async fn logout(state: &AppState, auth: &Auth) -> Result<(), ApiError> {
    let audited = auth.event(AuditEventType::UserLogout, json!({"scope": "this_device"}));
    state
        .db
        .auth_sessions()
        .revoke_family(auth.tenant, auth.family, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(())
}

/// Signs out every login of the user, in every tenant, except `keep`.
async fn revoke_everywhere(
    state: &AppState,
    user: UserId,
    keep: Option<stint_model::TokenFamily>,
) -> Result<usize, ApiError> {
    let ctx = WriteCtx::now();
    let mut revoked = 0;
    for membership in state.db.members().tenants_of(user).await? {
        revoked += state
            .db
            .auth_sessions()
            .revoke_user(membership.tenant_id, user, keep, &ctx)
            .await?;
    }
    Ok(revoked)
}

/// Signs out every login of the user.
pub(crate) async fn logout_all(state: &AppState, auth: &Auth) -> Result<(), ApiError> {
    let revoked = revoke_everywhere(state, auth.user, None).await?;
    auth.audit(
        state,
        AuditEventType::UserLogout,
        json!({"scope": "everywhere", "revoked": revoked}),
    )
    .await;
    Ok(())
}

/// Changes the password and signs out every other login.
pub(crate) async fn change_password(
    state: &AppState,
    auth: &Auth,
    req: ChangePasswordRequest,
) -> Result<(), ApiError> {
    check_policy("new_password", &req.new_password)?;
    let mut user = state.db.users().get(auth.home, auth.user).await?;
    let verdict = state
        .passwords
        .verify(req.current_password, Some(user.password_hash.clone()))
        .await?;
    if !verdict.matches {
        return Err(ApiError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    user.password_hash = state
        .passwords
        .hash(req.new_password, Purpose::Account)
        .await?;
    let ctx = WriteCtx::now();
    user.updated_at = ctx.at;
    state.db.users().update(&user, &ctx).await?;
    let revoked = revoke_everywhere(state, auth.user, Some(auth.family)).await?;
    auth.audit(
        state,
        AuditEventType::PasswordChanged,
        json!({"revoked": revoked}),
    )
    .await;
    Ok(())
}

/// New tokens acting in another tenant the user belongs to.
pub(crate) async fn switch_tenant(
    state: &AppState,
    auth: &Auth,
    tenant_id: TenantId,
) -> Result<TokenResponse, ApiError> {
    let membership = state
        .db
        .members()
        .get(tenant_id, auth.user)
        .await?
        .ok_or_else(|| ApiError::not_found("no such tenant"))?;
    let user = state.db.users().get(auth.home, auth.user).await?;
    let tenant = state.db.tenants().get(tenant_id).await?;
    let audited = audit_event(
        tenant_id,
        Some(auth.user),
        AuditEventType::UserLogin,
        json!({"switched_from": auth.tenant}),
        &auth.meta,
    );
    // The same device, acting in another tenant.
    sign_in(
        state,
        &user,
        tenant,
        membership.role,
        Some(auth.device),
        &auth.meta,
        SignedIn {
            user_changed: false,
            audited: Some(&audited),
        },
    )
    .await
}
