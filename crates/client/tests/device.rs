//! The device facade over a real sled replica in a temp dir.

use stint_client::{Change, ClientError, Device, NewSession, SessionFilter};
use stint_model::{EditorState, EditorTab, Position, SessionStatus};

fn new(name: &str, workspace: &str, tags: &[&str]) -> NewSession {
    NewSession {
        name: name.into(),
        workspace: workspace.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

#[tokio::test]
async fn sessions_work_offline_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (auth_id, device_id) = {
        let device = Device::open(dir.path()).unwrap();
        let auth = device
            .start_session(new("Auth", "/src/app", &["auth", "backend"]))
            .await
            .unwrap();
        device
            .start_session(new("UI", "/src/app", &["ui"]))
            .await
            .unwrap();
        device
            .start_session(new("Docs", "/src/docs", &["backend"]))
            .await
            .unwrap();
        assert_eq!(auth.terminal_state.cwd.as_deref(), Some("/src/app"));

        let editor = EditorState {
            open_tabs: vec![EditorTab {
                file_path: "src/main.rs".into(),
                cursor: Position {
                    line: 42,
                    column: 7,
                },
                selections: vec![],
                scroll_top: 0,
                is_pinned: false,
                group: None,
                anchor: None,
            }],
            active_tab_index: Some(0),
            layout: stint_model::EditorLayout::Single,
            ..EditorState::default()
        };
        // Sessions started within one millisecond share the UUIDv7's
        // timestamp and most of its counter: a prefix reaching into the
        // random tail is unique.
        let prefix = &auth.id.to_string()[..32];
        let updated = device
            .update_session(
                prefix,
                vec![
                    Change::Editor(editor),
                    Change::History(vec![
                        "cargo test".into(),
                        "export GITHUB_TOKEN=ghp_1234567890abcdefghijABCDEFGHIJ123456".into(),
                    ]),
                    Change::Env(vec![
                        ("API_KEY".into(), "12345".into()),
                        ("RUST_LOG".into(), "debug".into()),
                    ]),
                    Change::Fact("The refresh grace window is 30 s".into()),
                    Change::Decision(
                        "Use token families".into(),
                        Some("replays must revoke".into()),
                    ),
                    Change::AddTag("security".into()),
                    Change::RemoveTag("backend".into()),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            updated.terminal_state.command_history,
            ["cargo test", "export GITHUB_TOKEN=<redacted>"]
        );
        assert_eq!(
            updated.terminal_state.environment_vars["API_KEY"],
            "<redacted>"
        );
        assert_eq!(updated.terminal_state.environment_vars["RUST_LOG"], "debug");
        assert_eq!(updated.tags, ["auth", "security"]);
        (auth.id, device.profile().device_id)
    };

    // Everything is there after reopening, and the device is the same.
    let device = Device::open(dir.path()).unwrap();
    assert_eq!(device.profile().device_id, device_id);
    let auth = device.find_session(&auth_id.to_string()).await.unwrap();
    assert_eq!(
        auth.memory.decisions[0].rationale.as_deref(),
        Some("replays must revoke")
    );
    let names =
        |v: Vec<stint_model::WorkspaceSession>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            device
                .list_sessions(&SessionFilter::default())
                .await
                .unwrap()
        ),
        ["Docs", "UI", "Auth"]
    );
    assert_eq!(names(device.recent_sessions(1).await.unwrap()), ["Auth"]);
    let filter = SessionFilter {
        workspace: Some("/src/app".into()),
        ..SessionFilter::default()
    };
    assert_eq!(
        names(device.list_sessions(&filter).await.unwrap()),
        ["UI", "Auth"]
    );

    // Fork, children, related.
    let child = device
        .fork_session(&auth_id.to_string(), "Try async")
        .await
        .unwrap();
    assert_eq!(child.parent_session_id, Some(auth_id));
    assert_eq!(
        names(device.children(&auth_id.to_string()).await.unwrap()),
        ["Try async"]
    );
    let related = device.related(&auth_id.to_string(), 10).await.unwrap();
    assert_eq!(related[0].session.name, "Try async");

    // Resume reopens the files.
    let resume = device.resume_session(&auth_id.to_string()).await.unwrap();
    assert!(
        resume
            .commands
            .iter()
            .any(|c| c.command == "code /src/app -g /src/app/src/main.rs:42:7")
    );

    // Archive hides from the default list; delete removes.
    device
        .update_session(
            &child.id.to_string(),
            vec![Change::Status(SessionStatus::Archived)],
        )
        .await
        .unwrap();
    assert!(
        !names(
            device
                .list_sessions(&SessionFilter::default())
                .await
                .unwrap()
        )
        .contains(&"Try async".to_owned())
    );
    let all = SessionFilter {
        include_archived: true,
        ..SessionFilter::default()
    };
    assert!(names(device.list_sessions(&all).await.unwrap()).contains(&"Try async".to_owned()));
    device.delete_session(&child.id.to_string()).await.unwrap();
    assert!(matches!(
        device.find_session(&child.id.to_string()).await,
        Err(ClientError::NotFound(_))
    ));
}

#[tokio::test]
async fn bad_input_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::open(dir.path()).unwrap();
    let check = async |session: NewSession, field: &str| match device.start_session(session).await {
        Err(ClientError::Invalid(e)) => assert_eq!(e.field, field),
        other => panic!("{other:?}"),
    };
    check(new("a\u{7}b", "/src/app", &[]), "name").await;
    check(new(&"n".repeat(201), "/src/app", &[]), "name").await;
    check(new("x", "relative/path", &[]), "workspace_path").await;
    check(new("x", "/src/app", &["Not A Tag"]), "tags[0]").await;
    assert!(matches!(
        device.find_session("abc").await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        device.find_session("ffffffff").await,
        Err(ClientError::NotFound(_))
    ));
    let s = device
        .start_session(new("x", "/src/app", &[]))
        .await
        .unwrap();
    let err = device
        .update_session(&s.id.to_string(), vec![Change::AddTag("Bad".into())])
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Invalid(_)));
    // A second process cannot open the replica while this one holds it.
    let second = Device::open(dir.path()).unwrap_err();
    assert!(
        second.to_string().contains("another Stint process"),
        "{second}"
    );
}

#[tokio::test]
async fn a_limited_list_skips_archived_sessions_and_still_fills_up() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        let s = device
            .start_session(new(&format!("s{i}"), "/w", &["t"]))
            .await
            .unwrap();
        ids.push(s.id.to_string());
    }
    // The six newest are archived: the five newest active ones lie past
    // the first five index entries.
    for id in &ids[6..] {
        device
            .update_session(id, vec![Change::Status(SessionStatus::Archived)])
            .await
            .unwrap();
    }
    let names = |sessions: Vec<stint_model::WorkspaceSession>| -> Vec<String> {
        sessions.into_iter().map(|s| s.name).collect()
    };
    let check = async |filter: SessionFilter, expected: &[&str]| {
        let listed = device.list_sessions(&filter).await.unwrap();
        assert_eq!(names(listed), expected, "{filter:?}");
    };
    let limit = |limit| SessionFilter {
        limit,
        ..SessionFilter::default()
    };
    check(limit(5), &["s5", "s4", "s3", "s2", "s1"]).await;
    check(limit(0), &["s5", "s4", "s3", "s2", "s1", "s0"]).await;
    check(limit(7), &["s5", "s4", "s3", "s2", "s1", "s0"]).await;
    check(
        SessionFilter {
            tag: Some("t".into()),
            ..limit(2)
        },
        &["s5", "s4"],
    )
    .await;
    check(
        SessionFilter {
            include_archived: true,
            ..limit(2)
        },
        &["s11", "s10"],
    )
    .await;
}

#[tokio::test]
async fn a_list_read_in_pages_is_the_whole_list_once() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::open(dir.path()).unwrap();
    for i in 0..10 {
        let workspace = if i % 2 == 0 { "/even" } else { "/odd" };
        let s = device
            .start_session(new(&format!("s{i}"), workspace, &["t"]))
            .await
            .unwrap();
        if i == 7 {
            device
                .update_session(
                    &s.id.to_string(),
                    vec![Change::Status(SessionStatus::Archived)],
                )
                .await
                .unwrap();
        }
    }
    // Reads `filter` in pages of `size`, each starting before the last
    // session of the one before, until a short page.
    let pages = async |filter: SessionFilter, size: usize| -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let page = device
                .list_sessions(&SessionFilter {
                    limit: size,
                    before,
                    ..filter.clone()
                })
                .await
                .unwrap();
            before = page.last().map(|s| s.id);
            pages.push(page.into_iter().map(|s| s.name).collect::<Vec<_>>());
            if pages.last().unwrap().len() < size {
                return pages;
            }
            assert!(pages.len() <= 10, "the pages never end: {pages:?}");
        }
    };
    let check = async |filter: SessionFilter, size: usize, expected: &[&[&str]]| {
        assert_eq!(
            pages(filter.clone(), size).await,
            expected,
            "{filter:?} by {size}"
        );
    };
    let all = SessionFilter {
        include_archived: true,
        ..SessionFilter::default()
    };
    let active = SessionFilter::default();
    let odd = SessionFilter {
        workspace: Some("/odd".into()),
        ..SessionFilter::default()
    };
    let tagged = SessionFilter {
        tag: Some("t".into()),
        ..all.clone()
    };
    check(
        all.clone(),
        4,
        &[
            &["s9", "s8", "s7", "s6"],
            &["s5", "s4", "s3", "s2"],
            &["s1", "s0"],
        ],
    )
    .await;
    check(
        all.clone(),
        5,
        &[
            &["s9", "s8", "s7", "s6", "s5"],
            &["s4", "s3", "s2", "s1", "s0"],
            &[],
        ],
    )
    .await;
    check(
        all,
        20,
        &[&["s9", "s8", "s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0"]],
    )
    .await;
    // The archived s7 is skipped without shortening the page it falls in.
    check(
        active,
        4,
        &[
            &["s9", "s8", "s6", "s5"],
            &["s4", "s3", "s2", "s1"],
            &["s0"],
        ],
    )
    .await;
    check(odd, 2, &[&["s9", "s5"], &["s3", "s1"], &[]]).await;
    check(
        tagged,
        6,
        &[
            &["s9", "s8", "s7", "s6", "s5", "s4"],
            &["s3", "s2", "s1", "s0"],
        ],
    )
    .await;
}
