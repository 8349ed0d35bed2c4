#!/bin/sh
# Whether the console's page stays smooth with 500 calls (a measurement,
# not a test: not in make test):
#
#   build/console-load.sh [CALLS]
#
# builds the frontend (the console page the server embeds) and the server,
# then runs build/console-smoke/load.mjs: hushphone-server on loopback with
# room for CALLS (500 by default) callers waiting from one address, a
# supervisor (with a TOTP second factor) signed in to the console in
# Debian's Chromium (/usr/bin/chromium, never a downloaded browser;
# CHROMIUM=PATH for another) through playwright-core, and CALLS bare SIP
# INVITEs over UDP that nobody answers. Once the wallboard and Live calls
# show them all, 10 callers give up (CANCEL) and 10 arrive each second for
# 30 s: 15 s on the wallboard, then 15 s on Live calls. For each it
# measures in the page the long tasks, the frames' intervals, the
# renderer's main-thread time (percent of a core), the JS heap, the DOM's
# size, the WebSocket's bytes and the /api/v1/stats fetches a second; and
# the time from the first INVITE to the page showing them all.
#
# Prints one JSON line, {"ok":true,"fillMs":...,"wallboard":{...},
# "liveCalls":{...}} and exits 0, or {"ok":false,"step":"...","error":"..."}
# and exits 1. Everything it starts is ended on the way out; the whole run
# is bounded (the browser part by CONSOLE_LOAD_TIMEOUT_MS, 150 s by
# default). CONSOLE_LOAD_KEEP=1 keeps the run's folder (every process's
# output, the data directory) and says where it is;
# CONSOLE_LOAD_TRACE=FILE saves a Chromium trace of the Live calls window.
# docs/measurements.md has the figures.
set -eu
cd "$(dirname "$0")/.."
calls=${1:-500}
. build/console-smoke/common.sh
build/install-deps.sh --build >/dev/null || fail deps "installing the Debian packages failed (build/install-deps.sh --build)"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail deps "no Chromium at $chromium (apt-get install chromium, or build/install-deps.sh)"
for t in node npm go; do
	command -v "$t" >/dev/null 2>&1 || fail deps "$t is missing"
done
work=$(mktemp -d)
node=
stopped=
cleanup() {
	# Every line succeeds: dash ends with the trap's status otherwise.
	# load.mjs ends what it started when it is told to stop, and says so.
	if [ -n "$node" ]; then kill "$node" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	if [ -n "$stopped" ]; then grep '^{' "$work/report.json" 2>/dev/null | tail -1 || true; fi
	end_groups "$work/pids"
	if [ -n "${CONSOLE_LOAD_KEEP:-}" ]; then
		echo "console-load: the run's files are in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'stopped=1; exit 1' INT TERM

build_browser_run "$work" ./server/cmd/hushphone-server

# Its progress goes to stderr; its one JSON line to stdout. timeout is a
# last resort over load.mjs's own bound.
status=0
CHROMIUM="$chromium" timeout -k 15 180 node build/console-smoke/load.mjs --bin "$work/bin" --work "$work" \
	--calls "$calls" >"$work/report.json" &
node=$!
wait "$node" || status=$?
node=
report=$(grep '^{' "$work/report.json" | tail -1 || true)
if [ -z "$report" ]; then
	fail browser "load.mjs printed no report (exit $status)"
fi
echo "$report"
exit "$status"
