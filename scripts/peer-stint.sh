#!/usr/bin/env bash
# Builds the sync server as it was at commit REV (default: the last one
# before group commit), once, into target/peers/stint-REV/bin, for
# `make bench-server` to load beside today's build in the same run: the
# machine's speed varies by the hour, so only a same-run ratio compares.
set -euo pipefail
REV="${1:-cd1d03b}"
ROOT="${CARGO_TARGET_DIR:-target}/peers/stint-$REV"
if [[ -x "$ROOT/bin/stint-server" ]]; then
    exit 0
fi
echo "building stint-server at $REV into $ROOT/bin: once, a few minutes" >&2
rm -rf "$ROOT/src"
mkdir -p "$ROOT/src" "$ROOT/bin"
git archive "$REV" | tar -x -C "$ROOT/src"
cargo build --quiet --release --locked -p stint-server \
    --manifest-path "$ROOT/src/Cargo.toml" --target-dir "$ROOT/build"
cp "$ROOT/build/release/stint-server" "$ROOT/bin/"
