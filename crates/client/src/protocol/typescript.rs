//! Writing the protocol's TypeScript: the declaration in `operations!`
//! walked through `ts-rs`, so the types a plugin or the UI compiles
//! against are the ones the owner serves.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use ts_rs::{Config, TS, TypeVisitor};

/// Where the generated file lives, from the repository's root.
pub const TYPESCRIPT_FILE: &str = "editors/protocol/stint-protocol.ts";

/// Every named type reached, by its TypeScript name, with its declaration.
#[derive(Default)]
pub(super) struct Types {
    seen: HashSet<TypeId>,
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Types {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        // Only derived (or library-named, like `JsonValue`) types have a
        // declaration of their own; `Vec<T>`, `Option<T>`, `string` are
        // written inline, and only what they hold is declared.
        if T::output_path().is_some() {
            let cfg = config();
            let mut decl = T::docs().unwrap_or_default();
            decl.push_str("export ");
            decl.push_str(&T::decl(&cfg));
            self.decls.insert(T::ident(&cfg), decl);
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

/// Integers are JSON numbers on the wire (serde_json writes them so), not
/// `bigint`.
pub(super) fn config() -> Config {
    Config::new().with_large_int("number")
}

/// Appends one operation's entry of the `Operations` interface.
pub(super) fn operation(
    out: &mut String,
    name: &str,
    docs: Option<String>,
    params: &str,
    result: &str,
    writes: bool,
) {
    if let Some(docs) = docs {
        for line in docs.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(
        out,
        "  {name}: {{ params: {params}; result: {result}; writes: {writes} }};"
    );
}

/// The whole file.
pub(super) fn file(types: &Types, operations: &str) -> String {
    let mut out = String::from(
        "// Generated from crates/client/src/protocol.rs (`operations!`) by ts-rs.\n\
         // Do not edit: run `make types` after changing an operation or a type it carries.\n\n",
    );
    let _ = writeln!(
        out,
        "/** The protocol version `hello` names. */\nexport const PROTOCOL = {};\n",
        super::PROTOCOL
    );
    for decl in types.decls.values() {
        out.push_str(decl);
        out.push_str("\n\n");
    }
    out.push_str(
        "/** Every operation: its params, its result, whether it may change the replica. */\n\
         export interface Operations {\n",
    );
    out.push_str(operations);
    out.push_str("}\n\n/** An operation's name. */\nexport type Method = keyof Operations;\n");
    out
}
