#!/usr/bin/env bash
# Installs what building and testing Stint needs and is missing, on Debian
# or Ubuntu, as root (or through sudo). Safe to run again: it installs only
# what is absent. Used by `make run` and `make test`.
set -euo pipefail

# C toolchain for -sys crates, and libclang for the FoundationDB bindings
# (compile-checked in `make test`).
# zsh and fish: the shell hooks of `stint init` are tested in each shell.
# dbus, gnome-keyring and secret-tool: the login in the OS keyring is tested
# against a private Secret Service.
# The desktop app: WebKitGTK and friends to build Tauri; Xvfb, WebKit's
# WebDriver and xdotool/imagemagick to run it in tests and take its
# screenshots; Chromium for the UI's component tests; Node.js for the UI.
# util-linux's `unshare` and bsdutils' `script` (both part of any Debian):
# the watcher's tests in user namespaces, and the CLI's progress bar on a
# terminal.
# neovim (Debian's 0.7): the Neovim plugin (editors/nvim) is tested in it.
# ripgrep and the -dev packages of code-server's native modules (built by
# node-gyp): the VS Code extension (editors/vscode) is tested in the real
# VS Code server that code-server ships.
APT_PACKAGES=(build-essential pkg-config libclang-dev ca-certificates curl zsh fish util-linux bsdutils neovim
  ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev
  dbus-daemon dbus-bin dbus-x11 gnome-keyring libsecret-tools
  libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev libssl-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev file xvfb xauth webkit2gtk-driver at-spi2-core
  chromium imagemagick xdotool)
command -v node >/dev/null || APT_PACKAGES+=(nodejs npm)
# Python for schemathesis, the API fuzz (installed below, into .venv).
command -v python3 >/dev/null || APT_PACKAGES+=(python3 python3-venv)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root, or install sudo" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "install-deps: cargo is in ~/.cargo/bin; add it to PATH" >&2
  else
    echo "install-deps: Rust is missing; install it with rustup (https://rustup.rs)" >&2
  fi
  exit 1
fi

# tauri-driver: WebDriver for the desktop app's end-to-end tests.
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "install-deps: installing tauri-driver (cargo install, a few minutes once)"
  cargo install tauri-driver --locked --version 2.1.0
fi

# The UI's packages, exactly as locked.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "install-deps: installing the UI's packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi

# The VS Code extension's build tools (esbuild, TypeScript, @vscode/vsce,
# mocha), exactly as locked.
if [ ! -d editors/vscode/node_modules ] || [ editors/vscode/package-lock.json -nt editors/vscode/node_modules/.package-lock.json ]; then
  echo "install-deps: installing the VS Code extension's packages (npm ci)"
  (cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error)
fi

# The real VS Code the extension's tests run in: code-server 4.100.3 (VS
# Code 1.100.3, the newest whose install accepts Node 20) and
# playwright-core to drive its workbench in Chromium, in a folder of their
# own (about 300 MB, 2 minutes, once). Offline: @vscode/ripgrep's
# postinstall would download rg from GitHub, but takes it from its cache
# first, so Debian's rg is put there; node-pty's `npx node-gyp` needs
# npm_config_yes without a terminal; code-server's postinstall wants
# unsafe-perm as root.
if [ ! -x editors/vscode/host/node_modules/.bin/code-server ] || [ editors/vscode/host/package-lock.json -nt editors/vscode/host/node_modules/.package-lock.json ]; then
  echo "install-deps: installing code-server for the VS Code extension's tests (npm ci, a few minutes once)"
  rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$rg_cache"
  tar czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  (cd editors/vscode/host && npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund --loglevel=error)
fi

# schemathesis: the property-based fuzz of the whole API from its OpenAPI
# document (tests/tests/api_fuzz.rs), in a virtual environment of the
# project's own, pinned.
SCHEMATHESIS=4.32.5
if ! .venv/bin/st --version 2>/dev/null | grep -q "$SCHEMATHESIS"; then
  echo "install-deps: installing schemathesis $SCHEMATHESIS into .venv"
  if ! python3 -m venv .venv 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv .venv
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS"
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    echo "install-deps: adding the Rust component $component"
    rustup component add "$component"
  fi
done
