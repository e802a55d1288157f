//! The repositories, on every embedded backend and in "commit unknown" mode.
//! Revision numbers in the change log prove that retried writes applied once.

mod common;

use chrono::Duration;
use serde_json::json;
use stint_db::{Db, DbError, LogPosition, Window, WriteCtx};
use stint_model::{
    Agent, AgentType, Audit, AuditEventType, AuthSession, Conversation, File, Membership, Message,
    MessageRole, RecordKind, SessionStatus, Setting, SettingCategory, Tenant, TenantId,
    TokenLifetimes, User, UserId, UserRole, WorkspaceSession, now,
};
use uuid::Uuid;

on_every_backend!(
    users_and_personal_tenants,
    auth_sessions_rotate_and_revoke,
    sessions_indexes_follow_updates,
    sessions_fork_children_and_related,
    conversations_count_messages_once,
    message_pages_at_every_boundary,
    audit_queries_by_user_event_and_date,
    files_by_session_path_checksum_and_soft_delete,
    agents_by_type,
    settings_by_user_and_category,
    large_records_are_chunked,
    change_log_lists_each_change_once,
    tenants_are_isolated,
    deleting_a_tenant_clears_it_all,
    memberships_and_the_last_admin,
);

fn hash(c: char) -> String {
    c.to_string().repeat(64)
}

/// A user with a personal tenant, stored.
/// A database on a redb file in `dir`, for the tests of one backend only.
fn redb_db(dir: &std::path::Path) -> Db {
    let options = stint_store::StoreOptions::default();
    Db::new(stint_store::open_redb(&dir.join("s.redb"), options).unwrap())
}

async fn signed_up(db: &Db, email: &str) -> (Tenant, User) {
    let user_id = UserId::new();
    let tenant = Tenant::new_self_tenant(user_id, email);
    let mut user = User::new(
        tenant.id,
        email,
        "Ada",
        "Lovelace",
        "$argon2id$v=19$m=19456,t=2,p=1$x$y",
    );
    user.id = user_id;
    db.users()
        .create_with_tenant(&user, &tenant, &WriteCtx::now())
        .await
        .unwrap();
    (tenant, user)
}

fn session(
    tenant: &Tenant,
    user: &User,
    name: &str,
    path: &str,
    tags: &[&str],
) -> WorkspaceSession {
    let mut s = WorkspaceSession::new(tenant.id, user.id, name, path);
    s.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    s
}

/// The revisions the change log holds for `id`, in log order.
async fn revs(db: &Db, tenant: TenantId, id: Uuid) -> Vec<(u64, bool)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = db.changes().read(tenant, after, 100).await.unwrap();
        out.extend(
            page.changes
                .iter()
                .filter(|(_, c)| c.id == id)
                .map(|(_, c)| (c.rev, c.deleted)),
        );
        after = page.changes.last().map(|(p, _)| *p);
        if !page.more {
            return out;
        }
    }
}

async fn users_and_personal_tenants(db: &Db) {
    let (tenant, user) = signed_up(db, "Ada@Example.com").await;
    assert_eq!(db.tenants().get(tenant.id).await.unwrap(), tenant);
    let found = db
        .users()
        .get_by_email("  ADA@example.COM")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, user);
    assert_eq!(db.users().get(tenant.id, user.id).await.unwrap(), user);
    assert_eq!(
        db.users().list_by_tenant(tenant.id).await.unwrap(),
        vec![user.clone()]
    );
    assert!(
        db.tenants()
            .list_active(0)
            .await
            .unwrap()
            .contains(&tenant.id)
    );

    // The email is taken: a second account fails, and nothing of it remains.
    let other_tenant = Tenant::new_self_tenant(UserId::new(), "x");
    let mut other = User::new(other_tenant.id, "ada@example.com", "A", "L", "$argon2id$z");
    other.id = other_tenant.owner_id;
    let err = db
        .users()
        .create_with_tenant(&other, &other_tenant, &WriteCtx::now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DbError::AlreadyExists {
                kind: RecordKind::User,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        db.tenants().get(other_tenant.id).await,
        Err(DbError::NotFound { .. })
    ));

    // A changed email moves its lookup.
    let mut renamed = user.clone();
    renamed.email = "countess@example.com".into();
    db.users().update(&renamed, &WriteCtx::now()).await.unwrap();
    assert_eq!(
        db.users().get_by_email("ada@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        db.users()
            .get_by_email("countess@example.com")
            .await
            .unwrap(),
        Some(renamed.clone())
    );

    // Invalid records are refused with the field.
    let mut bad = renamed.clone();
    bad.first_name = "Ada\u{7}".into();
    match db.users().update(&bad, &WriteCtx::now()).await {
        Err(DbError::Invalid(e)) => assert_eq!(e.field, "first_name"),
        other => panic!("{other:?}"),
    }

    // Suspending a tenant drops it from the active list.
    let mut suspended = tenant.clone();
    suspended.is_active = false;
    db.tenants()
        .update(&suspended, &WriteCtx::now())
        .await
        .unwrap();
    assert!(
        !db.tenants()
            .list_active(0)
            .await
            .unwrap()
            .contains(&tenant.id)
    );

    db.users()
        .delete(tenant.id, user.id, &WriteCtx::now())
        .await
        .unwrap();
    assert_eq!(
        db.users()
            .get_by_email("countess@example.com")
            .await
            .unwrap(),
        None
    );
}

async fn auth_sessions_rotate_and_revoke(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let lifetimes = TokenLifetimes::default();
    let ctx = WriteCtx::now();
    let mut first = AuthSession::new(tenant.id, user.id, hash('a'), lifetimes);
    db.auth_sessions().create(&first, &ctx).await.unwrap();
    assert_eq!(
        db.auth_sessions()
            .get_by_refresh_hash(&hash('a'))
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        db.auth_sessions()
            .get_by_refresh_hash(&hash('f'))
            .await
            .unwrap(),
        None
    );

    let second = first.rotate(hash('b'), lifetimes);
    db.auth_sessions()
        .rotate(tenant.id, first.id, &second, &ctx)
        .await
        .unwrap();
    // The same exchange again is a no-op; another exchange of `first` loses.
    db.auth_sessions()
        .rotate(tenant.id, first.id, &second, &ctx)
        .await
        .unwrap();
    let mut stale = db.auth_sessions().get(tenant.id, first.id).await.unwrap();
    assert_eq!(stale.replaced_by, Some(second.id));
    let thief = stale.rotate(hash('c'), lifetimes);
    let err = db
        .auth_sessions()
        .rotate(tenant.id, first.id, &thief, &ctx)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    assert_eq!(
        db.auth_sessions()
            .get_by_refresh_hash(&hash('c'))
            .await
            .unwrap(),
        None
    );

    let family = db
        .auth_sessions()
        .list_by_family(tenant.id, first.token_family)
        .await
        .unwrap();
    assert_eq!(
        family.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );

    let other_login = AuthSession::new(tenant.id, user.id, hash('d'), lifetimes);
    db.auth_sessions().create(&other_login, &ctx).await.unwrap();
    assert_eq!(
        db.auth_sessions()
            .revoke_family(tenant.id, first.token_family, &ctx)
            .await
            .unwrap(),
        1,
        "one family, whatever its rows"
    );
    assert_eq!(
        db.auth_sessions()
            .revoke_family(tenant.id, first.token_family, &ctx)
            .await
            .unwrap(),
        0
    );
    let still = db
        .auth_sessions()
        .get(tenant.id, other_login.id)
        .await
        .unwrap();
    assert!(still.revoked_at.is_none(), "another family is untouched");
    // Keeping the one live family revokes nothing; then it goes too.
    let keep = Some(other_login.token_family);
    assert_eq!(
        db.auth_sessions()
            .revoke_user(tenant.id, user.id, keep, &ctx)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.auth_sessions()
            .revoke_user(tenant.id, user.id, None, &ctx)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.auth_sessions()
            .list_by_user(tenant.id, user.id)
            .await
            .unwrap()
            .len(),
        3
    );

    // Purging: only rows whose refresh token expired go, in batches.
    let later = now() + lifetimes.refresh + Duration::seconds(1);
    let mut fresh = AuthSession::new(tenant.id, user.id, hash('e'), lifetimes);
    fresh.refresh_expires_at = later + Duration::days(1);
    db.auth_sessions().create(&fresh, &ctx).await.unwrap();
    assert_eq!(
        db.auth_sessions()
            .purge_expired(tenant.id, later, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.auth_sessions()
            .purge_expired(tenant.id, later, 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.auth_sessions()
            .purge_expired(tenant.id, later, 2)
            .await
            .unwrap(),
        0
    );
    let left = db
        .auth_sessions()
        .list_by_user(tenant.id, user.id)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![fresh.id]
    );
    assert_eq!(
        db.auth_sessions()
            .get_by_refresh_hash(&hash('a'))
            .await
            .unwrap(),
        None
    );
}

async fn sessions_indexes_follow_updates(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let mut a = session(&tenant, &user, "A", "/src/app", &["backend"]);
    let mut b = session(&tenant, &user, "B", "/src/app", &["ui"]);
    let c = session(&tenant, &user, "C", "/src/other", &[]);
    b.updated_at = a.updated_at + Duration::seconds(1);
    let mut c2 = c.clone();
    c2.updated_at = a.updated_at + Duration::seconds(2);
    for s in [&a, &b, &c2] {
        db.sessions().create(s, &ctx).await.unwrap();
    }
    let names =
        |v: Vec<WorkspaceSession>| v.into_iter().map(|s| s.name).collect::<Vec<_>>().join(",");
    assert_eq!(
        names(db.sessions().recent(tenant.id, user.id, 10).await.unwrap()),
        "C,B,A"
    );
    assert_eq!(
        names(db.sessions().recent(tenant.id, user.id, 2).await.unwrap()),
        "C,B"
    );
    assert_eq!(
        names(
            db.sessions()
                .by_workspace(tenant.id, "/src/app", 0)
                .await
                .unwrap()
        ),
        "B,A"
    );
    assert_eq!(
        names(db.sessions().by_tag(tenant.id, "backend", 0).await.unwrap()),
        "A"
    );
    assert_eq!(
        names(
            db.sessions()
                .list_by_user(tenant.id, user.id, 0)
                .await
                .unwrap()
        ),
        "C,B,A"
    );

    // An update moves its index entries: new tag, new workspace, new time.
    a.tags = vec!["ui".into()];
    a.workspace_path = "/src/other".into();
    a.updated_at += Duration::seconds(5);
    db.sessions().update(&a, &ctx).await.unwrap();
    assert_eq!(
        names(db.sessions().by_tag(tenant.id, "backend", 0).await.unwrap()),
        ""
    );
    assert_eq!(
        names(db.sessions().by_tag(tenant.id, "ui", 0).await.unwrap()),
        "B,A"
    );
    assert_eq!(
        names(
            db.sessions()
                .by_workspace(tenant.id, "/src/app", 0)
                .await
                .unwrap()
        ),
        "B"
    );
    assert_eq!(
        names(db.sessions().recent(tenant.id, user.id, 10).await.unwrap()),
        "A,C,B"
    );

    // Archived sessions leave "recent" but stay listed.
    a.status = SessionStatus::Archived;
    db.sessions().update(&a, &ctx).await.unwrap();
    assert_eq!(
        names(db.sessions().recent(tenant.id, user.id, 10).await.unwrap()),
        "C,B"
    );
    assert_eq!(
        db.sessions()
            .list_by_user(tenant.id, user.id, 0)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        db.sessions()
            .count_by_user(tenant.id, user.id)
            .await
            .unwrap(),
        3
    );

    // Delete: gone from every index; deleting again is a no-op.
    db.sessions().delete(tenant.id, b.id, &ctx).await.unwrap();
    db.sessions().delete(tenant.id, b.id, &ctx).await.unwrap();
    assert_eq!(
        db.sessions()
            .count_by_user(tenant.id, user.id)
            .await
            .unwrap(),
        2
    );
    assert!(matches!(
        db.sessions().get(tenant.id, b.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(
        names(db.sessions().by_tag(tenant.id, "ui", 0).await.unwrap()),
        "A"
    );
    assert_eq!(
        names(db.sessions().recent(tenant.id, user.id, 10).await.unwrap()),
        "C"
    );
    assert!(matches!(
        db.sessions().update(&b, &ctx).await,
        Err(DbError::NotFound { .. })
    ));
    assert!(matches!(
        db.sessions()
            .delete(tenant.id, stint_model::SessionId::new(), &ctx)
            .await,
        Err(DbError::NotFound { .. })
    ));
    // Creating twice with different content is refused.
    let mut clash = c2.clone();
    clash.name = "other".into();
    assert!(matches!(
        db.sessions().create(&clash, &ctx).await,
        Err(DbError::AlreadyExists { .. })
    ));
}

async fn sessions_fork_children_and_related(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let base = session(
        &tenant,
        &user,
        "Auth",
        "/src/app",
        &["auth", "backend", "rust"],
    );
    db.sessions().create(&base, &ctx).await.unwrap();
    let child = db
        .sessions()
        .fork(tenant.id, base.id, "Try async", &ctx)
        .await
        .unwrap();
    assert_eq!(child.parent_session_id, Some(base.id));
    let children = db.sessions().children(tenant.id, base.id).await.unwrap();
    assert_eq!(children, vec![child.clone()]);

    let mut orphan = session(&tenant, &user, "Orphan", "/src/app", &[]);
    orphan.parent_session_id = Some(stint_model::SessionId::new());
    assert!(matches!(
        db.sessions().create(&orphan, &ctx).await,
        Err(DbError::BrokenReference(_))
    ));

    let mut two_tags = session(&tenant, &user, "two", "/elsewhere", &["auth", "backend"]);
    two_tags.updated_at = base.updated_at - Duration::hours(1);
    let one_tag_new = session(&tenant, &user, "one-new", "/elsewhere", &["rust"]);
    let mut one_tag_old = session(&tenant, &user, "one-old", "/elsewhere", &["auth"]);
    one_tag_old.updated_at = base.updated_at - Duration::hours(2);
    let same_folder = session(&tenant, &user, "folder", "/src/app", &[]);
    let unrelated = session(&tenant, &user, "unrelated", "/x", &["docs"]);
    for s in [
        &two_tags,
        &one_tag_new,
        &one_tag_old,
        &same_folder,
        &unrelated,
    ] {
        db.sessions().create(s, &ctx).await.unwrap();
    }
    let related = db
        .sessions()
        .related_to(tenant.id, base.id, 10)
        .await
        .unwrap();
    let summary: Vec<(String, usize, bool)> = related
        .iter()
        .map(|r| {
            (
                r.session.name.clone(),
                r.shared_tags.len(),
                r.same_workspace,
            )
        })
        .collect();
    let expected = [
        ("Try async", 3, true),
        ("two", 2, false),
        ("one-new", 1, false),
        ("one-old", 1, false),
        ("folder", 0, true),
    ];
    let expected: Vec<(String, usize, bool)> = expected
        .iter()
        .map(|(n, t, w)| ((*n).to_owned(), *t, *w))
        .collect();
    assert_eq!(summary, expected);
    assert_eq!(
        related[1].shared_tags,
        vec!["auth".to_owned(), "backend".to_owned()]
    );
    assert_eq!(
        db.sessions()
            .related_to(tenant.id, base.id, 2)
            .await
            .unwrap()
            .len(),
        2
    );

    let by_tags = db
        .sessions()
        .related_by_tags(tenant.id, user.id, &["backend".into(), "auth".into()], 10)
        .await
        .unwrap();
    let names: Vec<&str> = by_tags.iter().map(|r| r.session.name.as_str()).collect();
    assert_eq!(
        names[..2]
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2
    );
    assert!(
        names
            .iter()
            .take(3)
            .all(|n| ["Auth", "Try async", "two"].contains(n)),
        "{names:?}"
    );
    assert_eq!(names.last(), Some(&"one-old"));

    let conversation = Conversation::new(tenant.id, user.id, Some(base.id), "Design");
    db.conversations()
        .create(&conversation, &ctx)
        .await
        .unwrap();
    let mut linked = base.clone();
    linked.conversation_id = Some(conversation.id);
    db.sessions().update(&linked, &ctx).await.unwrap();
    let found = db
        .sessions()
        .by_conversation(tenant.id, conversation.id)
        .await
        .unwrap();
    assert_eq!(found, vec![linked]);
}

async fn conversations_count_messages_once(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let s = session(&tenant, &user, "S", "/src/app", &[]);
    db.sessions().create(&s, &ctx).await.unwrap();
    let conversation = Conversation::new(tenant.id, user.id, Some(s.id), "Design");
    db.conversations()
        .create(&conversation, &ctx)
        .await
        .unwrap();
    let mut dangling =
        Conversation::new(tenant.id, user.id, Some(stint_model::SessionId::new()), "x");
    dangling.ai_provider = "local".into();
    assert!(matches!(
        db.conversations().create(&dangling, &ctx).await,
        Err(DbError::BrokenReference(_))
    ));

    let mut question = Message::new(tenant.id, conversation.id, MessageRole::User, "How?");
    question.token_count = Some(10);
    let mut answer = Message::new(
        tenant.id,
        conversation.id,
        MessageRole::Assistant,
        "Like this.",
    );
    answer.token_count = Some(250);
    answer.model = Some("qwen".into());
    db.conversations()
        .add_message(&question, &ctx)
        .await
        .unwrap();
    let after = db.conversations().add_message(&answer, &ctx).await.unwrap();
    assert_eq!((after.message_count, after.token_count), (2, 260));
    // Adding the same message again changes nothing.
    db.conversations().add_message(&answer, &ctx).await.unwrap();
    let stored = db
        .conversations()
        .get(tenant.id, conversation.id)
        .await
        .unwrap();
    assert_eq!((stored.message_count, stored.token_count), (2, 260));
    assert_eq!(
        db.conversations()
            .count_tokens(tenant.id, conversation.id)
            .await
            .unwrap(),
        260
    );
    assert_eq!(
        db.conversations()
            .by_session(tenant.id, s.id)
            .await
            .unwrap(),
        vec![stored.clone()]
    );
    assert_eq!(
        db.conversations()
            .list_by_user(tenant.id, user.id, 0)
            .await
            .unwrap(),
        vec![stored]
    );

    let orphan = Message::new(
        tenant.id,
        stint_model::ConversationId::new(),
        MessageRole::User,
        "?",
    );
    assert!(matches!(
        db.conversations().add_message(&orphan, &ctx).await,
        Err(DbError::BrokenReference(_))
    ));

    db.conversations()
        .delete(tenant.id, conversation.id, &ctx)
        .await
        .unwrap();
    assert!(matches!(
        db.conversations().get_message(tenant.id, answer.id).await,
        Err(DbError::NotFound { .. })
    ));
    let page = db
        .conversations()
        .list_messages(tenant.id, conversation.id, None, 10)
        .await
        .unwrap();
    assert!(page.messages.is_empty());
}

async fn message_pages_at_every_boundary(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    const PAGE: usize = 5;
    for n in [0usize, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE] {
        let conversation = Conversation::new(tenant.id, user.id, None, format!("n={n}"));
        db.conversations()
            .create(&conversation, &ctx)
            .await
            .unwrap();
        let start = now();
        let mut ids = Vec::new();
        for i in 0..n {
            let mut m = Message::new(
                tenant.id,
                conversation.id,
                MessageRole::User,
                format!("m{i}"),
            );
            m.created_at = start + Duration::milliseconds(i as i64);
            ids.push(m.id);
            db.conversations().add_message(&m, &ctx).await.unwrap();
        }
        let (mut seen, mut after, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = db
                .conversations()
                .list_messages(tenant.id, conversation.id, after, PAGE)
                .await
                .unwrap();
            pages += 1;
            assert!(page.messages.len() <= PAGE);
            seen.extend(page.messages.iter().map(|m| m.id));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ids, "n = {n}");
        assert_eq!(pages, n.div_ceil(PAGE).max(1), "n = {n}");
    }
}

async fn audit_queries_by_user_event_and_date(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let t0 = now() - Duration::days(10);
    let event = |days: i64, user: Option<UserId>, kind: AuditEventType| {
        let mut a = Audit::new(tenant.id, user, kind, json!({"n": days}));
        a.created_at = t0 + Duration::days(days);
        a
    };
    let events = [
        event(0, Some(user.id), AuditEventType::UserLogin),
        event(1, Some(user.id), AuditEventType::SessionCreated),
        event(2, None, AuditEventType::LoginFailed),
        event(3, Some(user.id), AuditEventType::UserLogin),
        event(9, Some(user.id), AuditEventType::SettingChanged),
    ];
    for e in &events {
        db.audit().record(e).await.unwrap();
    }
    let days = |v: Vec<Audit>| {
        v.iter()
            .map(|a| a.event_data["n"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let all = Window::default();
    assert_eq!(
        days(
            db.audit()
                .by_user(tenant.id, user.id, all, 0)
                .await
                .unwrap()
        ),
        [9, 3, 1, 0]
    );
    assert_eq!(
        days(
            db.audit()
                .by_event(tenant.id, AuditEventType::UserLogin, all, 0)
                .await
                .unwrap()
        ),
        [3, 0]
    );
    let window = Window {
        from: Some(t0 + Duration::days(1)),
        to: Some(t0 + Duration::days(3)),
    };
    assert_eq!(
        days(
            db.audit()
                .by_user(tenant.id, user.id, window, 0)
                .await
                .unwrap()
        ),
        [1]
    );
    assert_eq!(
        days(db.audit().by_date(tenant.id, window, 0).await.unwrap()),
        [2, 1]
    );
    assert_eq!(
        days(db.audit().by_date(tenant.id, all, 2).await.unwrap()),
        [9, 3]
    );
    assert_eq!(
        db.audit().get(tenant.id, events[2].id).await.unwrap(),
        events[2]
    );

    let cutoff = t0 + Duration::days(3);
    assert_eq!(
        db.audit().purge_before(tenant.id, cutoff, 2).await.unwrap(),
        2
    );
    assert_eq!(
        db.audit().purge_before(tenant.id, cutoff, 2).await.unwrap(),
        1
    );
    assert_eq!(
        db.audit().purge_before(tenant.id, cutoff, 2).await.unwrap(),
        0
    );
    assert_eq!(
        days(db.audit().by_date(tenant.id, all, 0).await.unwrap()),
        [9, 3]
    );
    assert_eq!(
        days(
            db.audit()
                .by_event(tenant.id, AuditEventType::UserLogin, all, 0)
                .await
                .unwrap()
        ),
        [3]
    );
}

async fn files_by_session_path_checksum_and_soft_delete(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let s1 = session(&tenant, &user, "one", "/src/app", &[]);
    let s2 = session(&tenant, &user, "two", "/src/app", &[]);
    for s in [&s1, &s2] {
        db.sessions().create(s, &ctx).await.unwrap();
    }
    let file = |s: &WorkspaceSession, path: &str, sum: char| {
        let mut f = File::new(tenant.id, s.id, &s.workspace_path, path, 10, "text/plain");
        f.checksum = Some(sum.to_string().repeat(64));
        f
    };
    let main1 = file(&s1, "src/main.rs", 'a');
    let lib1 = file(&s1, "src/lib.rs", 'b');
    let main2 = file(&s2, "src/main.rs", 'a');
    for f in [&main1, &lib1, &main2] {
        db.files().put(f, &ctx).await.unwrap();
    }
    let paths = |v: Vec<File>| {
        v.into_iter()
            .map(|f| format!("{}:{}", f.workspace_session_id == s1.id, f.file_path))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        paths(
            db.files()
                .list_by_session(tenant.id, s1.id, false)
                .await
                .unwrap()
        ),
        ["true:src/lib.rs", "true:src/main.rs"]
    );
    assert_eq!(
        db.files()
            .get_by_path(tenant.id, s1.id, "src/main.rs")
            .await
            .unwrap(),
        Some(main1.clone())
    );
    assert_eq!(
        db.files()
            .get_by_path(tenant.id, s1.id, "nope")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.files()
            .by_path(tenant.id, "/src/app", "src/main.rs", 100)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        db.files()
            .by_checksum(tenant.id, &"a".repeat(64), 100)
            .await
            .unwrap()
            .len(),
        2
    );

    // A changed checksum moves the checksum index.
    let mut edited = main1.clone();
    edited.checksum = Some("c".repeat(64));
    db.files().put(&edited, &ctx).await.unwrap();
    assert_eq!(
        db.files()
            .by_checksum(tenant.id, &"a".repeat(64), 100)
            .await
            .unwrap(),
        vec![main2.clone()]
    );

    // One record per path and session; the session must exist.
    let twin = file(&s1, "src/main.rs", 'd');
    assert!(matches!(
        db.files().put(&twin, &ctx).await,
        Err(DbError::AlreadyExists { .. })
    ));
    let stray = File::new(
        tenant.id,
        stint_model::SessionId::new(),
        "/src/app",
        "a",
        1,
        "text/plain",
    );
    assert!(matches!(
        db.files().put(&stray, &ctx).await,
        Err(DbError::BrokenReference(_))
    ));

    let deleted = db
        .files()
        .soft_delete(tenant.id, lib1.id, &ctx)
        .await
        .unwrap();
    assert!(deleted.is_deleted);
    assert_eq!(
        db.files()
            .list_by_session(tenant.id, s1.id, false)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        db.files()
            .list_by_session(tenant.id, s1.id, true)
            .await
            .unwrap()
            .len(),
        2
    );
    let back = db.files().undelete(tenant.id, lib1.id, &ctx).await.unwrap();
    assert!(!back.is_deleted);
    db.files()
        .soft_delete(tenant.id, lib1.id, &ctx)
        .await
        .unwrap();

    // Purge removes only what was soft-deleted before the cutoff.
    assert_eq!(
        db.files()
            .purge_deleted(tenant.id, ctx.at - Duration::days(1), 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.files()
            .purge_deleted(tenant.id, ctx.at + Duration::days(1), 10)
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        db.files().get(tenant.id, lib1.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(
        db.files()
            .list_by_session(tenant.id, s1.id, true)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn agents_by_type(db: &Db) {
    let (tenant, _) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let mut coordinator = Agent::new(tenant.id, "Lead", AgentType::Coordinator);
    coordinator.config.a2a_capabilities = vec!["task_decomposition".into()];
    let reviewer = Agent::new(tenant.id, "Reviewer", AgentType::Specialist);
    let coder = Agent::new(tenant.id, "Coder", AgentType::Specialist);
    for a in [&coordinator, &reviewer, &coder] {
        db.agents().create(a, &ctx).await.unwrap();
    }
    let names = |v: Vec<Agent>| v.into_iter().map(|a| a.name).collect::<Vec<_>>().join(",");
    assert_eq!(
        names(db.agents().list(tenant.id).await.unwrap()),
        "Lead,Reviewer,Coder"
    );
    assert_eq!(
        names(
            db.agents()
                .list_by_type(tenant.id, AgentType::Specialist)
                .await
                .unwrap()
        ),
        "Reviewer,Coder"
    );
    let mut promoted = reviewer.clone();
    promoted.agent_type = AgentType::Coordinator;
    promoted.memory.facts.insert("style".into(), "terse".into());
    db.agents().update(&promoted, &ctx).await.unwrap();
    assert_eq!(
        names(
            db.agents()
                .list_by_type(tenant.id, AgentType::Coordinator)
                .await
                .unwrap()
        ),
        "Lead,Reviewer"
    );
    assert_eq!(
        db.agents().get(tenant.id, reviewer.id).await.unwrap(),
        promoted
    );
    db.agents().delete(tenant.id, coder.id, &ctx).await.unwrap();
    assert_eq!(
        names(db.agents().list(tenant.id).await.unwrap()),
        "Lead,Reviewer"
    );
    assert_eq!(
        names(
            db.agents()
                .list_by_type(tenant.id, AgentType::Specialist)
                .await
                .unwrap()
        ),
        ""
    );
}

async fn settings_by_user_and_category(db: &Db) {
    let (tenant, ada) = signed_up(db, "ada@example.com").await;
    let bob = UserId::new();
    let ctx = WriteCtx::now();
    let set = |user: UserId, category, key: &str, value| {
        Setting::new(tenant.id, user, category, key, value)
    };
    for s in [
        set(ada.id, SettingCategory::Editor, "font_size", json!(14)),
        set(ada.id, SettingCategory::Editor, "tab_width", json!(4)),
        set(ada.id, SettingCategory::Theme, "mode", json!("dark")),
        set(bob, SettingCategory::Theme, "mode", json!("light")),
    ] {
        db.settings().set(&s, &ctx).await.unwrap();
    }
    // Setting again replaces (same deterministic id).
    db.settings()
        .set(
            &set(ada.id, SettingCategory::Editor, "font_size", json!(16)),
            &ctx,
        )
        .await
        .unwrap();
    let got = db
        .settings()
        .get(tenant.id, ada.id, SettingCategory::Editor, "font_size")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.value, json!(16));
    let keys = |v: Vec<Setting>| {
        v.into_iter()
            .map(|s| format!("{}.{}", s.category.as_str(), s.key))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(db.settings().all_of_user(tenant.id, ada.id).await.unwrap()),
        ["editor.font_size", "editor.tab_width", "theme.mode"]
    );
    assert_eq!(
        keys(
            db.settings()
                .of_category(tenant.id, ada.id, SettingCategory::Editor)
                .await
                .unwrap()
        ),
        ["editor.font_size", "editor.tab_width"]
    );
    assert_eq!(
        db.settings()
            .of_category_in_tenant(tenant.id, SettingCategory::Theme)
            .await
            .unwrap()
            .len(),
        2
    );
    db.settings()
        .delete(
            tenant.id,
            ada.id,
            SettingCategory::Editor,
            "tab_width",
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        db.settings()
            .get(tenant.id, ada.id, SettingCategory::Editor, "tab_width")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        keys(db.settings().all_of_user(tenant.id, ada.id).await.unwrap()),
        ["editor.font_size", "theme.mode"]
    );
}

async fn large_records_are_chunked(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let conversation = Conversation::new(tenant.id, user.id, None, "Long");
    db.conversations()
        .create(&conversation, &ctx)
        .await
        .unwrap();
    // 900 KB: ten chunks, far above the store's 100,000-byte value limit.
    let content: String = (0..900_000u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let big = Message::new(tenant.id, conversation.id, MessageRole::Assistant, content);
    db.conversations().add_message(&big, &ctx).await.unwrap();
    assert_eq!(
        db.conversations()
            .get_message(tenant.id, big.id)
            .await
            .unwrap(),
        big
    );

    let mut s = session(&tenant, &user, "history", "/src/app", &[]);
    s.terminal_state.command_history = (0..1000)
        .map(|i| {
            format!(
                "cargo test --package p{i} -- --nocapture {}",
                "x".repeat(150)
            )
        })
        .collect();
    db.sessions().create(&s, &ctx).await.unwrap();
    assert_eq!(db.sessions().get(tenant.id, s.id).await.unwrap(), s);
    // Shrinking it leaves no stale chunk behind.
    s.terminal_state.command_history.truncate(3);
    db.sessions().update(&s, &ctx).await.unwrap();
    assert_eq!(db.sessions().get(tenant.id, s.id).await.unwrap(), s);
    let chunk_prefix =
        stint_store::tuple::pack(&("t", tenant.id.as_uuid(), "chunk", "workspace_session"));
    let mut tx = db.store().begin().await.unwrap();
    let left = tx
        .get_all(&chunk_prefix, &stint_store::prefix_end(&chunk_prefix))
        .await
        .unwrap();
    assert!(left.is_empty(), "{} stale chunks", left.len());
}

async fn change_log_lists_each_change_once(db: &Db) {
    let (tenant, user) = signed_up(db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let mut s = session(&tenant, &user, "S", "/src/app", &[]);
    db.sessions().create(&s, &ctx).await.unwrap();
    s.name = "renamed".into();
    db.sessions().update(&s, &ctx).await.unwrap();
    db.sessions().update(&s, &ctx).await.unwrap(); // no change, no entry
    db.sessions().delete(tenant.id, s.id, &ctx).await.unwrap();
    assert_eq!(
        revs(db, tenant.id, s.id.as_uuid()).await,
        [(1, false), (2, false), (3, true)]
    );

    // Two records in one transaction: both logged, in write order.
    let conversation = Conversation::new(tenant.id, user.id, None, "c");
    db.conversations()
        .create(&conversation, &ctx)
        .await
        .unwrap();
    let m = Message::new(tenant.id, conversation.id, MessageRole::User, "hi");
    db.conversations().add_message(&m, &ctx).await.unwrap();
    let page = db.changes().read(tenant.id, None, 100).await.unwrap();
    let kinds: Vec<RecordKind> = page.changes.iter().map(|(_, c)| c.kind).collect();
    let (ws, conv, msg) = (
        RecordKind::WorkspaceSession,
        RecordKind::Conversation,
        RecordKind::Message,
    );
    assert_eq!(kinds, [ws, ws, ws, conv, msg, conv]);
    let positions: Vec<LogPosition> = page.changes.iter().map(|(p, _)| *p).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions increase"
    );

    // Reading after a position continues exactly there, in pages.
    let rest = db
        .changes()
        .read(tenant.id, Some(positions[2]), 2)
        .await
        .unwrap();
    assert_eq!(
        rest.changes.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        positions[3..5]
    );
    assert!(rest.more);
    let last = db
        .changes()
        .read(tenant.id, Some(positions[5]), 2)
        .await
        .unwrap();
    assert!(last.changes.is_empty() && !last.more);

    // Server-only kinds (users, tenants, logins, audit) are not logged.
    assert!(page.changes.iter().all(|(_, c)| c.kind.is_synced()));
}

async fn tenants_are_isolated(db: &Db) {
    let (a, ada) = signed_up(db, "ada@example.com").await;
    let (b, _bob) = signed_up(db, "bob@example.com").await;
    let ctx = WriteCtx::now();
    let s = session(&a, &ada, "secret", "/src/app", &["x"]);
    db.sessions().create(&s, &ctx).await.unwrap();
    let conversation = Conversation::new(a.id, ada.id, Some(s.id), "c");
    db.conversations()
        .create(&conversation, &ctx)
        .await
        .unwrap();
    let m = Message::new(a.id, conversation.id, MessageRole::User, "hi");
    db.conversations().add_message(&m, &ctx).await.unwrap();
    let mut f = File::new(a.id, s.id, "/src/app", "a.rs", 1, "text/plain");
    f.checksum = Some("e".repeat(64));
    db.files().put(&f, &ctx).await.unwrap();
    let agent = Agent::new(a.id, "A", AgentType::Specialist);
    db.agents().create(&agent, &ctx).await.unwrap();
    let setting = Setting::new(a.id, ada.id, SettingCategory::Llm, "model", json!("m"));
    db.settings().set(&setting, &ctx).await.unwrap();
    let audit = Audit::new(a.id, Some(ada.id), AuditEventType::UserLogin, json!({}));
    db.audit().record(&audit).await.unwrap();
    let login = AuthSession::new(a.id, ada.id, hash('9'), TokenLifetimes::default());
    db.auth_sessions().create(&login, &ctx).await.unwrap();

    // Through tenant B, every one of A's ids is unknown and every list empty.
    let nf = |r: Result<(), DbError>| assert!(matches!(r, Err(DbError::NotFound { .. })), "{r:?}");
    nf(db.sessions().get(b.id, s.id).await.map(drop));
    nf(db
        .conversations()
        .get(b.id, conversation.id)
        .await
        .map(drop));
    nf(db.conversations().get_message(b.id, m.id).await.map(drop));
    nf(db.files().get(b.id, f.id).await.map(drop));
    nf(db.agents().get(b.id, agent.id).await.map(drop));
    nf(db.audit().get(b.id, audit.id).await.map(drop));
    nf(db.auth_sessions().get(b.id, login.id).await.map(drop));
    nf(db.users().get(b.id, ada.id).await.map(drop));
    nf(db.sessions().delete(b.id, s.id, &ctx).await.map(drop));
    nf(db
        .sessions()
        .fork(b.id, s.id, "steal", &ctx)
        .await
        .map(drop));
    nf(db.files().soft_delete(b.id, f.id, &ctx).await.map(drop));
    assert!(
        db.sessions()
            .list_by_user(b.id, ada.id, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.sessions().by_tag(b.id, "x", 0).await.unwrap().is_empty());
    assert!(
        db.sessions()
            .by_workspace(b.id, "/src/app", 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.conversations()
            .by_session(b.id, s.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.conversations()
            .list_messages(b.id, conversation.id, None, 10)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    assert!(
        db.files()
            .list_by_session(b.id, s.id, true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.files()
            .by_checksum(b.id, &"e".repeat(64), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.agents().list(b.id).await.unwrap().is_empty());
    assert!(
        db.settings()
            .all_of_user(b.id, ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.audit()
            .by_user(b.id, ada.id, Window::default(), 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.changes()
            .read(b.id, None, 100)
            .await
            .unwrap()
            .changes
            .is_empty()
    );
    // Writing A's record under B's tenant id cannot touch A's copy.
    let mut hijack = s.clone();
    hijack.tenant_id = b.id;
    nf(db.sessions().update(&hijack, &ctx).await);
    assert_eq!(db.sessions().get(a.id, s.id).await.unwrap(), s);

    // And every stored key belongs to a tenant range or a global lookup.
    let mut tx = db.store().begin().await.unwrap();
    let everything = tx.get_all(b"", b"\xff").await.unwrap();
    let a_prefix = stint_store::tuple::pack(&("t", a.id.as_uuid()));
    let b_prefix = stint_store::tuple::pack(&("t", b.id.as_uuid()));
    let global = stint_store::tuple::pack(&("g",));
    for (key, _) in &everything {
        assert!(
            key.starts_with(&a_prefix)
                || key.starts_with(&b_prefix)
                || key.starts_with(&global[..global.len() - 1]),
            "stray key {key:?}"
        );
    }
}

async fn deleting_a_tenant_clears_it_all(db: &Db) {
    let (a, ada) = signed_up(db, "ada@example.com").await;
    let (b, bob) = signed_up(db, "bob@example.com").await;
    let ctx = WriteCtx::now();
    for (t, u) in [(&a, &ada), (&b, &bob)] {
        db.sessions()
            .create(&session(t, u, "s", "/src/app", &["x"]), &ctx)
            .await
            .unwrap();
        let login = AuthSession::new(
            t.id,
            u.id,
            hash(if t.id == a.id { '1' } else { '2' }),
            TokenLifetimes::default(),
        );
        db.auth_sessions().create(&login, &ctx).await.unwrap();
    }
    db.tenants().delete(a.id).await.unwrap();
    assert!(matches!(
        db.tenants().delete(a.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(
        db.users().get_by_email("ada@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        db.auth_sessions()
            .get_by_refresh_hash(&hash('1'))
            .await
            .unwrap(),
        None
    );
    assert!(!db.tenants().list_active(0).await.unwrap().contains(&a.id));
    let mut tx = db.store().begin().await.unwrap();
    let a_prefix = stint_store::tuple::pack(&("t", a.id.as_uuid()));
    assert!(
        tx.get_all(&a_prefix, &stint_store::prefix_end(&a_prefix))
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);
    // B is untouched.
    assert!(
        db.users()
            .get_by_email("bob@example.com")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.auth_sessions()
            .get_by_refresh_hash(&hash('2'))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(db.sessions().by_tag(b.id, "x", 0).await.unwrap().len(), 1);
}

/// The store identity is created once and found again after a reopen.
#[tokio::test]
async fn store_identity_survives_reopen() {
    for backend in ["sled", "redb"] {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let options = stint_store::StoreOptions::default();
            let store = match backend {
                "sled" => stint_store::open_sled(&dir.path().join("s"), options),
                _ => stint_store::open_redb(&dir.path().join("s.redb"), options),
            };
            Db::new(store.unwrap())
        };
        let first = stint_db::StoreIdentity {
            store_id: Uuid::now_v7(),
            created_at: now(),
        };
        let found = open().meta().identity(first).await.unwrap();
        assert_eq!(found, first);
        let second = stint_db::StoreIdentity {
            store_id: Uuid::now_v7(),
            created_at: now(),
        };
        assert_eq!(
            open().meta().identity(second).await.unwrap(),
            first,
            "{backend}"
        );
    }
}

async fn memberships_and_the_last_admin(db: &Db) {
    let (home, ada) = signed_up(db, "ada@example.com").await;
    let (bob_home, bob) = signed_up(db, "bob@example.com").await;
    // Registration made Ada the Admin of her personal tenant.
    let own = db.members().get(home.id, ada.id).await.unwrap().unwrap();
    assert_eq!(own.role, UserRole::Admin);

    let org = Tenant::new_organization("Engines", ada.id);
    db.tenants()
        .create_with_owner(&org, home.id, &WriteCtx::now())
        .await
        .unwrap();
    let bob_in = Membership::new(org.id, bob.id, bob_home.id, UserRole::Viewer);
    db.members().put(&bob_in, &WriteCtx::now()).await.unwrap();
    let roles = |v: Vec<Membership>| {
        let mut r: Vec<(bool, UserRole)> =
            v.iter().map(|m| (m.user_id == ada.id, m.role)).collect();
        r.sort();
        r
    };
    assert_eq!(
        roles(db.members().list(org.id).await.unwrap()),
        [(false, UserRole::Viewer), (true, UserRole::Admin)]
    );
    let bobs: Vec<TenantId> = db
        .members()
        .tenants_of(bob.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.tenant_id)
        .collect();
    assert_eq!(bobs.len(), 2);
    assert!(bobs.contains(&org.id) && bobs.contains(&bob_home.id));

    // The last Admin can be neither demoted nor removed.
    let demoted = Membership::new(org.id, ada.id, home.id, UserRole::Developer);
    assert!(matches!(
        db.members().put(&demoted, &WriteCtx::now()).await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.members().remove(org.id, ada.id, &WriteCtx::now()).await,
        Err(DbError::Conflict(_))
    ));
    // With a second Admin, she can step down.
    db.members()
        .put(
            &Membership::new(org.id, bob.id, bob_home.id, UserRole::Admin),
            &WriteCtx::now(),
        )
        .await
        .unwrap();
    db.members().put(&demoted, &WriteCtx::now()).await.unwrap();
    db.members()
        .remove(org.id, ada.id, &WriteCtx::now())
        .await
        .unwrap();
    assert!(matches!(
        db.members().remove(org.id, ada.id, &WriteCtx::now()).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(db.members().get(org.id, ada.id).await.unwrap(), None);

    // Deleting the organization forgets it in its members' lists.
    db.tenants().delete(org.id).await.unwrap();
    let bobs: Vec<TenantId> = db
        .members()
        .tenants_of(bob.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.tenant_id)
        .collect();
    assert_eq!(bobs, [bob_home.id]);
}

/// A login refreshed 11,000 times: rotation prunes as it goes (the family
/// keeps two rows), every old token is still caught as reuse, and logout,
/// logout-all and reuse detection each revoke the whole family in a write
/// of its own, far within the store's limits.
#[tokio::test]
async fn a_login_refreshed_eleven_thousand_times_revokes_in_bounded_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = redb_db(dir.path());
    let (tenant, user) = signed_up(&db, "ada@example.com").await;
    let lifetimes = stint_model::TokenLifetimes::default();
    let ctx = WriteCtx::now();
    let token = |n: u32| format!("{n:064x}");
    let mut live = AuthSession::new(tenant.id, user.id, token(0), lifetimes);
    db.auth_sessions().create(&live, &ctx).await.unwrap();
    const ROTATIONS: u32 = 11_000;
    for n in 1..=ROTATIONS {
        let next = live.rotate(token(n), lifetimes);
        db.auth_sessions()
            .rotate(tenant.id, live.id, &next, &ctx)
            .await
            .unwrap();
        live = next;
    }
    let family = db
        .auth_sessions()
        .list_by_family(tenant.id, live.token_family)
        .await
        .unwrap();
    assert_eq!(family.len(), 2, "the live row and the one it replaced");
    // An old token, its row long pruned, is still known as exchanged.
    let old = db
        .auth_sessions()
        .get_by_refresh_hash(&token(17))
        .await
        .unwrap()
        .expect("a spent token is remembered");
    assert!(old.rotated_at.is_some() && old.token_family == live.token_family);

    // Reuse revokes the family: one write.
    assert_eq!(
        db.auth_sessions()
            .revoke_family(tenant.id, old.token_family, &ctx)
            .await
            .unwrap(),
        1
    );
    let row = db.auth_sessions().get(tenant.id, live.id).await.unwrap();
    assert!(row.revoked_at.is_some(), "the live row is revoked with it");

    // Logout-all over many logins, each refreshed many times.
    for n in 0..50u32 {
        let login = AuthSession::new(tenant.id, user.id, token(100_000 + n), lifetimes);
        db.auth_sessions().create(&login, &ctx).await.unwrap();
        let next = login.clone().rotate(token(200_000 + n), lifetimes);
        db.auth_sessions()
            .rotate(tenant.id, login.id, &next, &ctx)
            .await
            .unwrap();
    }
    assert_eq!(
        db.auth_sessions()
            .revoke_user(tenant.id, user.id, None, &ctx)
            .await
            .unwrap(),
        50
    );
    let rows = db
        .auth_sessions()
        .list_by_user(tenant.id, user.id)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.revoked_at.is_some()));

    // Once the tokens could no longer be used, nothing of them stays.
    let later = now() + lifetimes.refresh + chrono::Duration::days(1);
    while db
        .auth_sessions()
        .purge_expired(tenant.id, later, 500)
        .await
        .unwrap()
        == 500
    {}
    assert_eq!(
        db.auth_sessions()
            .get_by_refresh_hash(&token(17))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.auth_sessions()
            .forget_revocations(tenant.id, later, 500)
            .await
            .unwrap(),
        51
    );
}

/// A conversation of 100,000 messages (far more than one transaction may
/// delete) goes whole, its messages a batch per transaction; the reads
/// that count its tokens go a page at a time too.
#[tokio::test]
async fn a_conversation_of_100_000_messages_is_deleted_and_counted_in_bounded_transactions() {
    use stint_model::sync::Mutation;
    use stint_model::{Conversation, Message, MessageRole};
    let dir = tempfile::tempdir().unwrap();
    let db = redb_db(dir.path());
    let (tenant, user) = signed_up(&db, "ada@example.com").await;
    let ctx = WriteCtx::now();
    let conversation = Conversation::new(tenant.id, user.id, None, "long");
    db.conversations()
        .create(&conversation, &ctx)
        .await
        .unwrap();
    // Written as a device pushes them: a thousand to a push.
    const MESSAGES: u64 = 100_000;
    let device = stint_model::DeviceId::new();
    for push in 0..MESSAGES / 1_000 {
        let batches: Vec<Vec<Mutation>> = (0..10)
            .map(|b| {
                (0..100)
                    .map(|i| {
                        let number = push * 1_000 + b * 100 + i + 1;
                        let mut m =
                            Message::new(tenant.id, conversation.id, MessageRole::User, "hi");
                        m.token_count = Some(2);
                        let serde_json::Value::Object(fields) = serde_json::to_value(&m).unwrap()
                        else {
                            unreachable!()
                        };
                        Mutation {
                            number,
                            kind: RecordKind::Message,
                            id: m.id.as_uuid(),
                            base_rev: 0,
                            deleted: false,
                            fields: fields.into_iter().collect(),
                        }
                    })
                    .collect()
            })
            .collect();
        db.sync()
            .push(tenant.id, user.id, device, &batches, now())
            .await
            .unwrap();
    }
    assert_eq!(
        db.conversations()
            .count_tokens(tenant.id, conversation.id)
            .await
            .unwrap(),
        2 * MESSAGES
    );
    db.conversations()
        .delete(tenant.id, conversation.id, &ctx)
        .await
        .unwrap();
    assert!(matches!(
        db.conversations().get(tenant.id, conversation.id).await,
        Err(DbError::NotFound { .. })
    ));
    let left = db
        .conversations()
        .list_messages(tenant.id, conversation.id, None, 10)
        .await;
    assert!(
        left.as_ref().map_or(true, |page| page.messages.is_empty()),
        "{left:?}"
    );
}

/// A list read a page at a time until enough match: the few sessions of
/// one user under a tag most sessions of others share are all found,
/// newest first, across the pages the store is read in, and no more than
/// asked for.
#[tokio::test]
async fn the_first_matching_sessions_of_a_long_list_are_found_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let db = redb_db(dir.path());
    let (tenant, ada) = signed_up(&db, "ada@example.com").await;
    let bob = User::new(tenant.id, "bob@example.com", "Bob", "B", "x".repeat(10));
    let ctx = WriteCtx::now();
    let mut mine = Vec::new();
    for n in 0..1_203 {
        // Ada's three come first (oldest), and one in the middle.
        let owner = if n < 2 || n == 700 { &ada } else { &bob };
        let s = session(&tenant, owner, &format!("s{n}"), "/w", &["shared"]);
        db.sessions().create(&s, &ctx).await.unwrap();
        if owner.id == ada.id {
            mine.push(s.name.clone());
        }
    }
    mine.reverse();
    let check = async |want: usize, expected: &[String]| {
        let found = db
            .sessions()
            .first_matching(tenant.id, stint_db::SessionList::Tag("shared"), want, |s| {
                s.user_id == ada.id
            })
            .await
            .unwrap();
        let names: Vec<String> = found.into_iter().map(|s| s.name).collect();
        assert_eq!(names, expected, "want {want}");
    };
    check(10, &mine).await;
    check(2, &mine[..2]).await;
    check(1, &mine[..1]).await;
    check(0, &[]).await;
}
