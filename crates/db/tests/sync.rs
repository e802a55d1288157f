//! Both sides of sync on every embedded backend, plainly and in "commit
//! unknown" mode: pushes apply once and merge field by field, the log
//! compacts, and a device's outbox and pulled pages keep local edits.

mod common;

use serde_json::{Value, json};
use stint_db::{Db, DbError, Outbox, PushShape, WriteCtx};
use stint_model::sync::{MAX_PULL_BYTES, Mutation, Outcome, RecordJson, SyncRecord};
use stint_model::{DeviceId, RecordKind, SessionId, TenantId, UserId, WorkspaceSession, now};
use uuid::Uuid;

on_every_backend!(
    pushes_apply_once_and_merge_field_by_field,
    a_device_is_not_sent_back_what_it_holds,
    compaction_keeps_the_latest_change_of_each_record,
    local_edits_queue_and_survive_pulls,
    a_refetch_forgets_what_the_server_no_longer_has,
    a_push_of_several_batches_answers_as_one,
    pulls_see_a_push_once_it_is_durable,
    a_pull_never_passes_a_record_over_for_a_change_not_yet_durable,
);

/// A new session whose fields claim a tenant and owner of their own.
fn create(number: u64, id: Uuid, name: &str) -> Mutation {
    let session = WorkspaceSession::new(TenantId::new(), UserId::new(), name, "/w");
    Mutation {
        id,
        ..create_own(number, &session)
    }
}

/// A device's own new session, as its outbox pushes it.
fn create_own(number: u64, session: &WorkspaceSession) -> Mutation {
    let Value::Object(fields) = serde_json::to_value(session).unwrap() else {
        unreachable!("a session is an object")
    };
    Mutation {
        number,
        kind: RecordKind::WorkspaceSession,
        id: session.id.as_uuid(),
        base_rev: 0,
        deleted: false,
        fields: fields.into_iter().collect(),
    }
}

fn edit(number: u64, id: Uuid, base_rev: u64, fields: Value) -> Mutation {
    Mutation {
        number,
        kind: RecordKind::WorkspaceSession,
        id,
        base_rev,
        deleted: false,
        fields: fields.as_object().unwrap().clone().into_iter().collect(),
    }
}

/// The oldest pending edits of `tenant`: one batch of at most `count`
/// edits and `max_bytes` (always at least one edit, if any waits).
async fn oldest_pending(
    outbox: &Outbox<'_>,
    tenant: TenantId,
    count: usize,
    max_bytes: usize,
) -> Vec<Mutation> {
    let shape = PushShape {
        batch_edits: count,
        batch_bytes: max_bytes,
        batches: 1,
        push_bytes: max_bytes,
    };
    let batches = outbox.next_push(tenant, 0, shape).await.unwrap();
    batches.into_iter().flatten().collect()
}

fn json_of(body: &RecordJson) -> Value {
    body.parse().unwrap()
}

fn status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Applied { .. } => "applied",
        Outcome::Conflicted { .. } => "conflicted",
        Outcome::Duplicate => "duplicate",
        Outcome::Rejected { .. } => "rejected",
    }
}

async fn pushed(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    device: DeviceId,
    mutations: &[Mutation],
) -> Vec<&'static str> {
    pushed_in(db, tenant, user, device, &[mutations.to_vec()]).await
}

/// What a push of several batches answered.
async fn pushed_in(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    device: DeviceId,
    batches: &[Vec<Mutation>],
) -> Vec<&'static str> {
    db.sync()
        .push(tenant, user, device, batches, now())
        .await
        .unwrap()
        .iter()
        .map(|r| status(&r.outcome))
        .collect()
}

async fn pushes_apply_once_and_merge_field_by_field(db: &Db) {
    let (tenant, user) = (TenantId::new(), UserId::new());
    let (a, b) = (DeviceId::new(), DeviceId::new());
    let id = Uuid::now_v7();
    let first = [create(1, id, "start")];
    assert_eq!(pushed(db, tenant, user, a, &first).await, ["applied"]);
    // Its answer was lost: the retry gets the same answer, applied once.
    assert_eq!(pushed(db, tenant, user, a, &first).await, ["applied"]);
    let stored = db
        .sessions()
        .get(tenant, SessionId::from_uuid(id))
        .await
        .unwrap();
    assert_eq!(
        (stored.tenant_id, stored.user_id),
        (tenant, user),
        "the pusher's"
    );

    // Both devices based their edits on revision 1.
    let by_a = [
        edit(2, id, 1, json!({"name": "A's name"})),
        edit(3, id, 1, json!({"name": "A's second thought"})),
    ];
    assert_eq!(
        pushed(db, tenant, user, a, &by_a).await,
        ["applied", "applied"],
        "a device never conflicts with itself"
    );
    let by_b = [edit(1, id, 1, json!({"name": "B's name", "tags": ["b"]}))];
    assert_eq!(pushed(db, tenant, user, b, &by_b).await, ["conflicted"]);
    let merged = db
        .sessions()
        .get(tenant, SessionId::from_uuid(id))
        .await
        .unwrap();
    assert_eq!(merged.name, "A's second thought");
    assert_eq!(merged.tags, ["b"], "the other field merged");
    let conflicts = db.conflicts().of_record(tenant, id).await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].fields["name"], json!("B's name"));
    assert_eq!(conflicts[0].device_id, b);
    // B's retry of the same push changes nothing more.
    assert_eq!(pushed(db, tenant, user, b, &by_b).await, ["conflicted"]);
    assert_eq!(db.conflicts().of_record(tenant, id).await.unwrap().len(), 1);
    // An older push, replayed after later ones: the same answer as then.
    assert_eq!(pushed(db, tenant, user, a, &first).await, ["applied"]);

    // Pulled once per record, at its latest revision.
    let page = db
        .sync()
        .pull(tenant, user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    let kinds: Vec<RecordKind> = page.records.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [RecordKind::WorkspaceSession, RecordKind::Conflict]);
    assert_eq!(
        page.records[0].rev, 4,
        "four applied changes: create, A, A, B's tags"
    );

    // Deletes win over nothing and apply once; edits of a deleted record
    // are refused with a reason.
    let delete = Mutation {
        deleted: true,
        ..edit(4, id, 4, json!({}))
    };
    assert_eq!(pushed(db, tenant, user, a, &[delete]).await, ["applied"]);
    assert_eq!(
        pushed(
            db,
            tenant,
            user,
            b,
            &[edit(2, id, 4, json!({"name": "late"}))]
        )
        .await,
        ["rejected"]
    );
    let other = db
        .sync()
        .pull(TenantId::new(), user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    assert!(other.records.is_empty(), "another tenant sees nothing");

    // The same record created on two devices (a setting's id is derived
    // from its key): the second creation's values collide, none is lost.
    let twin = Uuid::now_v7();
    assert_eq!(
        pushed(db, tenant, user, a, &[create(5, twin, "on A")]).await,
        ["applied"]
    );
    assert_eq!(
        pushed(db, tenant, user, b, &[create(3, twin, "on B")]).await,
        ["conflicted"]
    );
    let kept = db.conflicts().of_record(tenant, twin).await.unwrap();
    assert_eq!(kept[0].fields["name"], json!("on B"));
}

async fn a_device_is_not_sent_back_what_it_holds(db: &Db) {
    let (tenant, user) = (TenantId::new(), UserId::new());
    let (a, b) = (DeviceId::new(), DeviceId::new());
    let [one, two, three] = [1, 2, 3].map(|n| {
        create_own(
            n,
            &WorkspaceSession::new(tenant, user, format!("s{n}"), "/w"),
        )
    });
    let (id1, id2, id3) = (one.id, two.id, three.id);
    let names = async |device: Option<DeviceId>| {
        let page = db
            .sync()
            .pull(tenant, user, None, 100, MAX_PULL_BYTES, device)
            .await
            .unwrap();
        let mut names: Vec<String> = page
            .records
            .iter()
            .map(|r| match r.body.as_ref().map(json_of) {
                Some(body) if r.kind == RecordKind::Conflict => {
                    format!("conflict on {}", body["fields"]["name"])
                }
                Some(body) => body["name"].as_str().unwrap().to_owned(),
                None => format!("deleted {}", r.id == id3),
            })
            .collect();
        names.sort();
        names
    };
    let check = async |step: &str, on_a: &[&str], on_b: &[&str]| {
        assert_eq!(names(Some(a)).await, on_a, "{step}: A's pull");
        assert_eq!(names(Some(b)).await, on_b, "{step}: B's pull");
    };

    // A's own creations, taken as they were sent: A holds them.
    pushed(db, tenant, user, a, &[one, two, three]).await;
    check("created on A", &[], &["s1", "s2", "s3"]).await;
    assert_eq!(names(None).await, ["s1", "s2", "s3"], "no device: all");

    // B renames s1; A, not having pulled that, changes its tags: the
    // result merges B's name in, so A must pull it.
    pushed(
        db,
        tenant,
        user,
        b,
        &[edit(1, id1, 1, json!({"name": "B's s1"}))],
    )
    .await;
    pushed(
        db,
        tenant,
        user,
        a,
        &[edit(4, id1, 0, json!({"tags": ["a"]}))],
    )
    .await;
    check("merged", &["B's s1"], &["B's s1", "s2", "s3"]).await;

    // A's later edits of its own record, still based on revision 0: only
    // A changed it since, so A holds the result.
    pushed(
        db,
        tenant,
        user,
        a,
        &[edit(5, id2, 0, json!({"name": "s2 again"}))],
    )
    .await;
    check("own edit", &["B's s1"], &["B's s1", "s2 again", "s3"]).await;

    // B renames s2 from what it pulled before A's rename: B's name loses,
    // kept in a conflict that both pull; the record itself did not change.
    pushed(
        db,
        tenant,
        user,
        b,
        &[edit(2, id2, 1, json!({"name": "B's s2"}))],
    )
    .await;
    check(
        "conflict",
        &["B's s1", "conflict on \"B's s2\""],
        &["B's s1", "conflict on \"B's s2\"", "s2 again", "s3"],
    )
    .await;

    // A deletes s3: it holds the tombstone already.
    let delete = Mutation {
        deleted: true,
        ..edit(6, id3, 1, json!({}))
    };
    pushed(db, tenant, user, a, &[delete]).await;
    check(
        "deleted on A",
        &["B's s1", "conflict on \"B's s2\""],
        &[
            "B's s1",
            "conflict on \"B's s2\"",
            "deleted true",
            "s2 again",
        ],
    )
    .await;

    // A creation the server rewrote (another tenant and owner claimed)
    // goes back to the pusher as the server stored it.
    let foreign = create(7, Uuid::now_v7(), "claims another tenant");
    pushed(db, tenant, user, a, &[foreign]).await;
    assert!(
        names(Some(a))
            .await
            .contains(&"claims another tenant".to_owned())
    );
}

async fn compaction_keeps_the_latest_change_of_each_record(db: &Db) {
    let (tenant, user) = (TenantId::new(), UserId::new());
    let ctx = WriteCtx::now();
    let mut kept = WorkspaceSession::new(tenant, user, "kept", "/w");
    db.sessions().create(&kept, &ctx).await.unwrap();
    let gone = WorkspaceSession::new(tenant, user, "gone", "/w");
    db.sessions().create(&gone, &ctx).await.unwrap();
    let early = db
        .sync()
        .pull(tenant, user, None, 1, MAX_PULL_BYTES, None)
        .await
        .unwrap()
        .last;
    for n in 0..3 {
        kept.name = format!("kept {n}");
        db.sessions().update(&kept, &ctx).await.unwrap();
    }
    db.sessions().delete(tenant, gone.id, &ctx).await.unwrap();
    let before = db
        .changes()
        .read(tenant, None, 100)
        .await
        .unwrap()
        .changes
        .len();
    assert_eq!(before, 6);

    // Tombstones younger than the cutoff stay; superseded entries go.
    // (Counts of removed entries are a report: after a "commit unknown",
    // the retry finds them removed already.)
    let log = async || {
        let page = db.changes().read(tenant, None, 100).await.unwrap();
        page.changes
            .iter()
            .map(|(_, c)| (c.id, c.rev, c.deleted))
            .collect::<Vec<_>>()
    };
    let step = db
        .sync()
        .compact(tenant, None, now() - chrono::Duration::days(1), 100)
        .await
        .unwrap();
    assert_eq!(step.next, None);
    assert_eq!(
        log().await,
        [(kept.id.as_uuid(), 4, false), (gone.id.as_uuid(), 2, true)]
    );
    assert!(
        db.sync()
            .pull(tenant, user, early, 100, MAX_PULL_BYTES, None)
            .await
            .is_ok(),
        "no floor yet"
    );

    // Past the retention, the tombstone and its entry go and the floor rises.
    let step = db
        .sync()
        .compact(tenant, None, now() + chrono::Duration::days(1), 1)
        .await
        .unwrap();
    assert!(step.next.is_some(), "one entry per step: more to do");
    let step = db
        .sync()
        .compact(tenant, step.next, now() + chrono::Duration::days(1), 1)
        .await
        .unwrap();
    assert_eq!(step.next, None);
    assert_eq!(log().await, [(kept.id.as_uuid(), 4, false)]);
    assert_eq!(
        db.sync()
            .pull(tenant, user, early, 100, MAX_PULL_BYTES, None)
            .await
            .unwrap_err(),
        DbError::CursorTooOld
    );
    let fresh = db
        .sync()
        .pull(tenant, user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    let names: Vec<String> = fresh
        .records
        .iter()
        .map(|r| {
            json_of(r.body.as_ref().unwrap())["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["kept 2"]);
}

async fn local_edits_queue_and_survive_pulls(db: &Db) {
    let (tenant, user, device) = (TenantId::new(), UserId::new(), DeviceId::new());
    let ctx = WriteCtx::local(device);
    let mut s = WorkspaceSession::new(tenant, user, "local", "/w");
    db.sessions().create(&s, &ctx).await.unwrap();
    s.name = "renamed".into();
    db.sessions().update(&s, &ctx).await.unwrap();
    // Before any login nothing queues.
    let quiet = WorkspaceSession::new(tenant, user, "quiet", "/w");
    db.sessions()
        .create(&quiet, &WriteCtx::unsynced(device))
        .await
        .unwrap();

    let outbox = db.outbox();
    let pending = oldest_pending(&outbox, tenant, 100, 1_000_000).await;
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].base_rev, 0);
    assert!(
        pending[0].fields.contains_key("workspace_path"),
        "a create carries it all"
    );
    let changed: Vec<&String> = pending[1].fields.keys().collect();
    assert_eq!(changed, ["name"], "an edit carries what changed");
    assert!(
        oldest_pending(&outbox, TenantId::new(), 100, 1_000_000)
            .await
            .is_empty()
    );
    assert_eq!(oldest_pending(&outbox, tenant, 1, 1_000_000).await.len(), 1);
    assert_eq!(
        oldest_pending(&outbox, tenant, 100, 1).await.len(),
        1,
        "at least one"
    );

    // The server's version arrives while the rename still waits: the
    // local rename stays on top of it, and the cursor is saved with it.
    let mut server_side = s.clone();
    server_side.name = "server name".into();
    server_side.tags = vec!["from-server".into()];
    let page = [SyncRecord {
        kind: RecordKind::WorkspaceSession,
        id: s.id.as_uuid(),
        rev: 7,
        updated_at: now(),
        updated_by: None,
        body: Some(RecordJson::of(&server_side).unwrap()),
    }];
    outbox
        .store_pulled(tenant, &page, "cursor-1")
        .await
        .unwrap();
    let local = db.sessions().get(tenant, s.id).await.unwrap();
    assert_eq!(
        (local.name.as_str(), local.tags.as_slice()),
        ("renamed", &["from-server".to_owned()][..])
    );
    assert_eq!(
        outbox.cursor(tenant).await.unwrap().as_deref(),
        Some("cursor-1")
    );
    assert_eq!(
        outbox.counts().await.unwrap().pending,
        2,
        "pulls queue nothing"
    );

    // Settled: accepted edits leave, refused ones are set aside.
    let numbers: Vec<u64> = pending.iter().map(|m| m.number).collect();
    outbox
        .settle(&[
            (numbers[0], Outcome::Applied { rev: 1 }),
            (
                numbers[1],
                Outcome::Rejected {
                    code: stint_model::ErrorCode::ValidationFailed,
                    message: "no".into(),
                },
            ),
        ])
        .await
        .unwrap();
    let counts = outbox.counts().await.unwrap();
    assert_eq!((counts.pending, counts.set_aside), (0, 1));
    assert_eq!(outbox.set_aside().await.unwrap()[0].message, "no");

    // With nothing waiting, a pulled tombstone deletes the local copy.
    let tombstone = [SyncRecord {
        body: None,
        rev: 8,
        ..page[0].clone()
    }];
    outbox
        .store_pulled(tenant, &tombstone, "cursor-2")
        .await
        .unwrap();
    assert!(db.sessions().get(tenant, s.id).await.is_err());
    assert_eq!(outbox.counts().await.unwrap().pending, 0);
}

async fn a_refetch_forgets_what_the_server_no_longer_has(db: &Db) {
    let (tenant, user, device) = (TenantId::new(), UserId::new(), DeviceId::new());
    let pulled: Vec<SyncRecord> = (0..3)
        .map(|n| {
            let s = WorkspaceSession::new(tenant, user, format!("pulled {n}"), "/w");
            SyncRecord {
                kind: RecordKind::WorkspaceSession,
                id: s.id.as_uuid(),
                rev: 1,
                updated_at: now(),
                updated_by: None,
                body: Some(RecordJson::of(&s).unwrap()),
            }
        })
        .collect();
    db.outbox()
        .store_pulled(tenant, &pulled, "c")
        .await
        .unwrap();
    // Three of this device's own: one accepted by the server (and since
    // deleted there), one refused, one not pushed yet.
    for name in ["pushed", "refused", "not pushed yet"] {
        let mine = WorkspaceSession::new(tenant, user, name, "/w");
        db.sessions()
            .create(&mine, &WriteCtx::local(device))
            .await
            .unwrap();
    }
    let pending = oldest_pending(&db.outbox(), tenant, 2, 1_000_000).await;
    let refused = Outcome::Rejected {
        code: stint_model::ErrorCode::ValidationFailed,
        message: "no".into(),
    };
    db.outbox()
        .settle(&[
            (pending[0].number, Outcome::Applied { rev: 1 }),
            (pending[1].number, refused),
        ])
        .await
        .unwrap();

    let seen = std::collections::HashSet::from([(RecordKind::WorkspaceSession, pulled[0].id)]);
    // (How many went is a report; after a "commit unknown" the retry finds
    // them gone already.)
    db.outbox().forget_unseen(tenant, &seen).await.unwrap();
    let left: Vec<String> = db
        .sessions()
        .list_by_user(tenant, user, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(left, ["not pushed yet", "refused", "pulled 0"]);
}

/// A push's batches apply in order, each once, and its retry gets the
/// answers of all of them: a refusal in the first batch stays a refusal.
async fn a_push_of_several_batches_answers_as_one(db: &Db) {
    let (tenant, user, device) = (TenantId::new(), UserId::new(), DeviceId::new());
    let (s1, s2) = (Uuid::now_v7(), Uuid::now_v7());
    let batches = vec![
        vec![
            create(1, s1, "one"),
            edit(2, Uuid::now_v7(), 3, json!({"name": "never created"})),
        ],
        vec![
            create(3, s2, "two"),
            edit(4, s1, 1, json!({"name": "one, renamed"})),
        ],
    ];
    let answers = ["applied", "rejected", "applied", "applied"];
    assert_eq!(pushed_in(db, tenant, user, device, &batches).await, answers);
    // The answer was lost: the same push again changes nothing.
    assert_eq!(pushed_in(db, tenant, user, device, &batches).await, answers);
    let page = db
        .sync()
        .pull(tenant, user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    let mut names: Vec<Value> = page
        .records
        .iter()
        .map(|r| json_of(r.body.as_ref().unwrap())["name"].clone())
        .collect();
    names.sort_by_key(ToString::to_string);
    assert_eq!(names, [json!("one, renamed"), json!("two")]);
    let renamed = page.records.iter().find(|r| r.id == s1).unwrap();
    assert_eq!(renamed.rev, 2, "created, then renamed: once each");
}

/// The batches before a push's last commit deferred: until a durable
/// commit covers them a pull shows none of them, so that no device holds
/// a position in the log that a crash could take back.
async fn pulls_see_a_push_once_it_is_durable(db: &Db) {
    let (tenant, user, device) = (TenantId::new(), UserId::new(), DeviceId::new());
    let first = create(1, Uuid::now_v7(), "in the first batch");
    // The second batch breaks the store's transaction size limit: the
    // push fails after its first batch committed, not durably.
    let mut huge = WorkspaceSession::new(tenant, user, "too big", "/w");
    huge.terminal_state.command_history =
        vec!["x".repeat(stint_model::validate::MAX_TEXT_CHARS); stint_model::validate::MAX_HISTORY];
    let batches = vec![vec![first.clone()], vec![create_own(2, &huge)]];
    let error = db
        .sync()
        .push(tenant, user, device, &batches, now())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("exceeds byte limit"), "{error}");

    let tx = db.store().begin().await.unwrap();
    let all_durable = tx.durable_version().is_none();
    drop(tx);
    let page = db
        .sync()
        .pull(tenant, user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    if !all_durable {
        assert!(page.records.is_empty(), "{:?}", page.records);
        assert_eq!((page.last, page.more), (None, false));
    }

    // The device, unanswered, pushes again: the first batch's mutation is
    // applied already, and now durable with this push.
    assert_eq!(
        pushed(db, tenant, user, device, std::slice::from_ref(&first)).await,
        ["applied"]
    );
    let page = db
        .sync()
        .pull(tenant, user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    let ids: Vec<Uuid> = page.records.iter().map(|r| r.id).collect();
    assert_eq!(ids, [first.id]);
}

/// A record whose last durable entry is followed by a change not yet
/// durable: a pull does not pass that entry over (were the newer change
/// lost in a crash, the entry would be the record's last, and the device
/// would never hear of it). It makes the store durable and reads again.
async fn a_pull_never_passes_a_record_over_for_a_change_not_yet_durable(db: &Db) {
    let (tenant, user, device) = (TenantId::new(), UserId::new(), DeviceId::new());
    let id = Uuid::now_v7();
    assert_eq!(
        pushed(db, tenant, user, device, &[create(1, id, "durable")]).await,
        ["applied"]
    );
    // A push whose first batch (a rename) commits deferred and whose
    // second breaks the transaction limit: the rename is visible, not
    // durable.
    let mut huge = WorkspaceSession::new(tenant, user, "too big", "/w");
    huge.terminal_state.command_history =
        vec!["x".repeat(stint_model::validate::MAX_TEXT_CHARS); stint_model::validate::MAX_HISTORY];
    let batches = vec![
        vec![edit(2, id, 1, json!({"name": "not yet durable"}))],
        vec![create_own(3, &huge)],
    ];
    assert!(
        db.sync()
            .push(tenant, user, device, &batches, now())
            .await
            .is_err()
    );

    let page = db
        .sync()
        .pull(tenant, user, None, 100, MAX_PULL_BYTES, None)
        .await
        .unwrap();
    let names: Vec<Value> = page
        .records
        .iter()
        .map(|r| json_of(r.body.as_ref().unwrap())["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("not yet durable")],
        "now durable, and delivered"
    );
    assert_eq!(page.records[0].rev, 2);
}
