//! Tenants and their members. Member management acts on the tenant the
//! token acts in: a path naming another tenant answers 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use stint_db::WriteCtx;
use stint_model::api::{
    AddMemberRequest, CreateTenantRequest, Member, TenantWithRole, UpdateMemberRequest, UserProfile,
};
use stint_model::{AuditEventType, ErrorBody, Membership, Tenant, TenantId, UserId, Validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::state::{AppState, audit_event};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mine, create))
        .routes(routes!(get_tenant))
        .routes(routes!(list_members, add_member))
        .routes(routes!(update_member, remove_member))
}

/// The tenants the user belongs to, with their role in each.
#[utoipa::path(get, path = "/tenants", tag = "tenants", security(("bearer" = [])), responses(
    (status = OK, body = Vec<TenantWithRole>),
))]
async fn list_mine(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<TenantWithRole>>, ApiError> {
    let mut out = Vec::new();
    for m in state.db.members().tenants_of(auth.user).await? {
        out.push(TenantWithRole {
            tenant: state.db.tenants().get(m.tenant_id).await?,
            role: m.role,
        });
    }
    Ok(Json(out))
}

/// Creates an organization; the caller becomes its Admin.
#[utoipa::path(post, path = "/tenants", tag = "tenants", security(("bearer" = [])), request_body = CreateTenantRequest, responses(
    (status = CREATED, body = TenantWithRole), (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateTenantRequest>,
) -> Result<(StatusCode, Json<TenantWithRole>), ApiError> {
    let tenant = Tenant::new_organization(req.name, auth.user);
    tenant.validate()?;
    let audited = audit_event(
        tenant.id,
        Some(auth.user),
        AuditEventType::MemberChanged,
        json!({"created_organization": tenant.name}),
        &auth.meta,
    );
    state
        .db
        .tenants()
        .create_with_owner(&tenant, auth.home, &WriteCtx::now().audited(&audited))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantWithRole {
            tenant,
            role: stint_model::UserRole::Admin,
        }),
    ))
}

/// A tenant the caller belongs to.
#[utoipa::path(get, path = "/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id")),
    responses((status = OK, body = TenantWithRole), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn get_tenant(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TenantId>,
) -> Result<Json<TenantWithRole>, ApiError> {
    let membership = state
        .db
        .members()
        .get(id, auth.user)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant not found"))?;
    Ok(Json(TenantWithRole {
        tenant: state.db.tenants().get(id).await?,
        role: membership.role,
    }))
}

/// The tenant named in a members path must be the one the token acts in.
fn acting_in(auth: &Auth, id: TenantId) -> Result<(), ApiError> {
    if id == auth.tenant {
        Ok(())
    } else {
        Err(ApiError::not_found("tenant not found"))
    }
}

async fn member_view(state: &AppState, m: &Membership) -> Result<Member, ApiError> {
    let user = state.db.users().get(m.user_tenant_id, m.user_id).await?;
    Ok(Member {
        user: UserProfile::from(&user),
        role: m.role,
        joined_at: m.created_at,
    })
}

/// The members of the tenant.
#[utoipa::path(get, path = "/tenants/{id}/members", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id (the one the token acts in)")),
    responses((status = OK, body = Vec<Member>), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn list_members(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TenantId>,
) -> Result<Json<Vec<Member>>, ApiError> {
    acting_in(&auth, id)?;
    let mut out = Vec::new();
    for m in state.db.members().list(id).await? {
        out.push(member_view(&state, &m).await?);
    }
    Ok(Json(out))
}

/// Adds an existing account as a member (Admin only).
#[utoipa::path(post, path = "/tenants/{id}/members", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id (the one the token acts in)")),
    request_body = AddMemberRequest,
    responses((status = CREATED, body = Member), (status = FORBIDDEN, body = ErrorBody), (status = NOT_FOUND, body = ErrorBody),
        (status = CONFLICT, body = ErrorBody, description = "Already a member")),
)]
async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TenantId>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<Member>), ApiError> {
    acting_in(&auth, id)?;
    auth.require_admin(&state).await?;
    let user = state
        .db
        .users()
        .get_by_email(&req.email)
        .await?
        .ok_or_else(|| ApiError::not_found("no account with this email"))?;
    if state.db.members().get(id, user.id).await?.is_some() {
        return Err(ApiError::conflict(
            "already a member; change the role instead",
        ));
    }
    let membership = Membership::new(id, user.id, user.tenant_id, req.role);
    let audited = audit_event(
        id,
        Some(auth.user),
        AuditEventType::MemberChanged,
        json!({"added": user.id, "role": req.role}),
        &auth.meta,
    );
    state
        .db
        .members()
        .put(&membership, &WriteCtx::now().audited(&audited))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(member_view(&state, &membership).await?),
    ))
}

/// Changes a member's role (Admin only). A tenant keeps at least one Admin.
#[utoipa::path(put, path = "/tenants/{id}/members/{user_id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id"), ("user_id" = String, Path, description = "member")),
    request_body = UpdateMemberRequest,
    responses((status = OK, body = Member), (status = CONFLICT, body = ErrorBody), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn update_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, user_id)): ApiPath<(TenantId, UserId)>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<Member>, ApiError> {
    acting_in(&auth, id)?;
    auth.require_admin(&state).await?;
    let mut membership = state
        .db
        .members()
        .get(id, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such member"))?;
    membership.role = req.role;
    let audited = audit_event(
        id,
        Some(auth.user),
        AuditEventType::MemberChanged,
        json!({"member": user_id, "role": req.role}),
        &auth.meta,
    );
    state
        .db
        .members()
        .put(&membership, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(Json(member_view(&state, &membership).await?))
}

/// Removes a member (Admin only). A tenant keeps at least one Admin.
#[utoipa::path(delete, path = "/tenants/{id}/members/{user_id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id"), ("user_id" = String, Path, description = "member")),
    responses((status = NO_CONTENT), (status = CONFLICT, body = ErrorBody), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, user_id)): ApiPath<(TenantId, UserId)>,
) -> Result<StatusCode, ApiError> {
    acting_in(&auth, id)?;
    auth.require_admin(&state).await?;
    let audited = audit_event(
        id,
        Some(auth.user),
        AuditEventType::MemberChanged,
        json!({"removed": user_id}),
        &auth.meta,
    );
    state
        .db
        .members()
        .remove(id, user_id, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
