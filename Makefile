# Stint. `make run` and `make test` are the two commands of the README; both
# install what is missing first (scripts/install-deps.sh).

CARGO    ?= cargo
DATA_DIR ?= data
LISTEN   ?= 127.0.0.1:8787

.DEFAULT_GOAL := help
.PHONY: help deps ui types vscode build run test lint test-ui test-only check-fdb bench bench-store bench-server bench-cli bench-sync bench-watch bench-preflight bench-editor bench-vscode bench-soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t16

deps: ## Install missing system packages and Rust components
	@bash scripts/install-deps.sh

ui: ## Build the desktop app's UI into ui/dist (the app embeds it)
	cd ui && npx vite build --logLevel warn

types: ## Write the local protocol's TypeScript (editors/protocol/stint-protocol.ts) from its declaration
	STINT_WRITE_TYPES=1 $(CARGO) test -q -p stint-client --test typescript

vscode: deps ## Build the VS Code extension into editors/vscode/stint.vsix (then: code --install-extension editors/vscode/stint.vsix)
	cd editors/vscode && npm run --silent package

build: deps ui ## Build the UI and every binary (the desktop app included)
	$(CARGO) build --workspace --bins

run: build ## Start the sync server on its embedded store, then the desktop app connected to it
	@bash scripts/run.sh "$(LISTEN)" "$(DATA_DIR)"

test: deps ui lint check-fdb test-only ## Everything CI checks: format, lints, FDB compile check, all tests

lint: ## rustfmt and clippy, warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check-fdb: ## Compile-check the FoundationDB backend (libfdb_c is not needed to check)
	$(CARGO) clippy -p stint-store -p stint-server --features stint-store/fdb,stint-server/fdb --all-targets -- -D warnings

# STINT_KEYRING=off: no test touches the keyring of whoever runs them (the
# keyring's own test starts a private Secret Service and turns it back on).
test-only: ui ## Build the binaries and run every test
	$(CARGO) build --workspace --bins
	STINT_KEYRING=off $(CARGO) test --workspace
	$(MAKE) test-ui

test-ui: ui ## The UI's component tests in headless Chromium
	cd ui && npm test

bench: bench-store bench-server bench-cli bench-sync bench-watch bench-preflight bench-editor bench-vscode bench-soak ## Every benchmark

bench-store: deps ## Store layer vs raw sled/redb calls: ops/s and ratio
	$(CARGO) bench -p stint-store --bench store

bench-server: deps ## Sync server under load beside the build before group commit (same run): requests/s, p50/p99, memory
	$(CARGO) build --release -p stint-server -p stint-e2e --bins
	bash scripts/peer-stint.sh cd1d03b
	./target/release/stint-loadbench

bench-sync: deps ## Sync of 100,000 records: upload, fresh device, idle round, edit A→B latency; atuin on the same records, same run
	$(CARGO) build --release -p stint-server -p stint-e2e --bins
	bash scripts/peer-atuin.sh
	./target/release/stint-syncbench

bench-cli: deps ## The CLI as a user feels it: shell hook per command, session list on 10,000 sessions
	$(CARGO) build --release -p stint -p stint-e2e --bins
	./target/release/stint-clibench

bench-watch: deps ## Workspace watcher on 50,000 files / 1.5 GB: index warm and cold, rescan, vs sha256sum; write → checksum
	$(CARGO) build --release -p stint-e2e --bins
	./target/release/stint-watchbench

bench-preflight: deps ## Resume preflight over 50,000 files whose index is current, beside the index's own rescan (same run)
	$(CARGO) build --release -p stint -p stint-e2e --bins
	./target/release/stint-preflightbench

bench-editor: deps ## The owner under 10 editors sending editor-state updates: most per second, p99 at 2,000/s, beside ping (same run)
	$(CARGO) build --release -p stint -p stint-e2e --bins
	./target/release/stint-editorbench

bench-vscode: deps ## Resume of 50 tabs and 100 breakpoints in the real VS Code, beside VS Code opening them by itself (same run)
	$(CARGO) build --release -p stint -p stint-e2e --bins
	./target/release/stint-vscodebench

bench-soak: deps ## 10 minutes of steady load and a syncing device: memory, file size and rate every 30 s, the trend
	$(CARGO) build --release -p stint-server
	$(CARGO) build --release -p stint -p stint-e2e --bins
	./target/release/stint-soakbench
