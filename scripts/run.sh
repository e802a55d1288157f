#!/usr/bin/env bash
# `make run`: the sync server on its embedded store, then the desktop app
# with the server's address filled in on its sign-in page. Closing the app
# (or Ctrl-C) stops both.
set -euo pipefail
listen="$1"
data="$2"
mkdir -p "$data/server"

./target/debug/stint-server --listen "$listen" --data-dir "$data/server" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fsS "http://$listen/api/v5/health" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "Stint sync server: http://$listen  (data in $data/server)"
echo "No account yet? ./target/debug/stint register --server http://$listen  (then sign in from the app)"

export STINT_SERVER="http://$listen"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  ./target/debug/stint-desktop
else
  echo "No display: the app runs under Xvfb (invisible); the server stays up until Ctrl-C."
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- ./target/debug/stint-desktop
fi
