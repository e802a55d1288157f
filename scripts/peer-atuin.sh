#!/usr/bin/env bash
# Builds atuin's client and server once, from crates.io, into
# target/peers/atuin/bin (kept across runs, like the rest of target/), for
# `make bench-sync` to run beside Stint. Prints nothing when they are there.
set -euo pipefail
VERSION=18.24.4
ROOT="${CARGO_TARGET_DIR:-target}/peers/atuin"
BIN="$ROOT/bin"
STAMP="$ROOT/.version"
if [[ -x "$BIN/atuin" && -x "$BIN/atuin-server" && "$(cat "$STAMP" 2>/dev/null)" == "$VERSION" ]]; then
    exit 0
fi
echo "building atuin $VERSION (client and server) into $BIN: once, a few minutes" >&2
mkdir -p "$ROOT"
# One target directory for both, so that their shared crates build once.
# The client without its clipboard, daemon, AI, PTY and update checks: the
# benchmark only imports, syncs and logs in.
cargo install --quiet --locked --version "$VERSION" --root "$ROOT" \
    --target-dir "$ROOT/build" atuin-server
cargo install --quiet --locked --version "$VERSION" --root "$ROOT" \
    --target-dir "$ROOT/build" --no-default-features --features client,sync atuin
echo "$VERSION" > "$STAMP"
