#!/bin/sh
# Build the desktop agent app without the Wails CLI: the UI (npm ci from
# the committed lock file, then Vite) into frontend/dist/, then the Go
# binary with Wails's tags for WebKitGTK 4.1, to build/bin/hushphone (or $1).
#
#   build/desktop.sh [OUT]
#
# HUSHPHONE_TAGS adds build tags: build/desktop-smoke.sh builds with
# "smoke" (the smoke run, smoke.go), which the shipped app leaves out.
# It installs GTK's and WebKitGTK's development packages first when they
# are missing (build/install-deps.sh --desktop, as root or with sudo).
# With the Wails CLI, `wails build -tags webkit2_41` does the same.
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/bin/hushphone}
build/install-deps.sh --desktop
(cd frontend && npm ci --no-audit --no-fund && npm run build)
mkdir -p "$(dirname "$out")"
go build -tags "desktop,production,webkit2_41${HUSHPHONE_TAGS:+,$HUSHPHONE_TAGS}" -trimpath -ldflags "-s -w" -o "$out" .
echo "built $out"
