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
APT_PACKAGES=(build-essential pkg-config libclang-dev ca-certificates curl zsh fish
  dbus-daemon dbus-bin gnome-keyring libsecret-tools)

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

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    echo "install-deps: adding the Rust component $component"
    rustup component add "$component"
  fi
done
