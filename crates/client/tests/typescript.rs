//! The protocol's TypeScript (`editors/protocol/stint-protocol.ts`) is
//! generated from `operations!`; the UI and the editors' plugins compile
//! against it. This fails when the file is not what the declaration says
//! now. `make types` (this test with `STINT_WRITE_TYPES=1`) rewrites it.

use std::path::Path;

use stint_client::protocol::{TYPESCRIPT_FILE, typescript};

#[test]
fn the_typescript_file_is_what_the_declaration_says() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(TYPESCRIPT_FILE);
    let want = typescript();
    if std::env::var_os("STINT_WRITE_TYPES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{TYPESCRIPT_FILE} is stale (or missing): run `make types` and commit it"
    );
}

#[test]
fn every_operation_and_the_types_it_carries_are_declared() {
    let ts = typescript();
    for op in stint_client::protocol::operations() {
        let entry = format!("  {}: {{ params: ", op.name);
        let line = ts
            .lines()
            .find(|l| l.starts_with(&entry))
            .unwrap_or_else(|| panic!("{} missing from Operations", op.name));
        assert!(
            line.ends_with(&format!("writes: {} }};", op.writes)),
            "{line}"
        );
    }
    for name in [
        "WorkspaceSession",
        "EditorState",
        "EditorTab",
        "Breakpoint",
        "Change",
        "Preflight",
        "Hello",
        "RpcError",
    ] {
        assert!(
            ts.contains(&format!("export type {name} = ")),
            "{name} is not declared"
        );
    }
}
