#!/bin/sh
# The console's smoke run in a real browser, as CI performs it (issue 12):
#
#   build/console-smoke.sh OUT_DIR
#
# builds the frontend (the console page the server embeds) and the
# binaries, then runs build/console-smoke/smoke.mjs: playwright-core (from
# build/console-smoke/package-lock.json) drives Debian's Chromium
# (/usr/bin/chromium, never a downloaded browser; CHROMIUM=PATH for
# another) against a test server on loopback with the sandbox gateway.
# A supervisor signs in with a TOTP code, sees the agent ann
# (hushphone-agent playing a 1000 Hz tone) become available and a sipp
# call be answered, listens in (a WebAudio analyser in the page finds the
# tone), whispers (the browser's fake microphone plays 600 Hz: ann hears
# it, and tshark on loopback shows the caller does not), watches the
# payment progress while sipp types the sandbox's test card to approved,
# plays the recording with its clean proof; an admin adds the agent bea
# and the queue sales (2000) with bea in it, and a call to 2000 rings
# bea. Nothing the browser saw (DOM, responses, WebSocket frames, console)
# holds 7 digits of the card number in a row.
#
# Then, on the same build, build/console-smoke/agent.mjs: a browser as an
# agent. Chromium (a fresh profile, its fake microphone playing 700 Hz) on
# a server of its own signs in as the agent carl, goes available, answers
# a sipp call playing 300 Hz and sets up the call's WebRTC leg in the page
# (trickled candidates both ways, end-of-candidates): the page's analyser
# finds 300 Hz, tshark shows the caller receives 700 Hz, getStats() gives
# a round trip from the server's RTCP, and the server's log refuses no
# candidate. Its figures are the report's "browserAgent".
#
# Leaves wallboard.png, live-call.png, recordings.png and users.png in
# OUT_DIR and prints one JSON line: {"ok":true,"screenshots":[...],...,
# "browserAgent":{...}} and exits 0, or {"ok":false,"step":"...",
# "error":"..."} and exits 1 (a step of the browser agent's is named
# "browser agent: ...").
# tshark captures on loopback: run as root (CI does). Everything it starts
# is ended on the way out; the whole run is bounded (the browser part by
# CONSOLE_SMOKE_TIMEOUT_MS, 240 s by default, the agent's by
# AGENT_SMOKE_TIMEOUT_MS, 90 s). CONSOLE_SMOKE_KEEP=1 keeps
# the run's folder (every process's output, the data directory, the
# captures) and says where it is.
set -eu
cd "$(dirname "$0")/.."
out=${1:-}
if [ -z "$out" ]; then
	echo "usage: $0 OUT_DIR" >&2
	exit 2
fi
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
. build/console-smoke/common.sh
build/install-deps.sh >/dev/null || fail deps "installing the Debian packages failed (build/install-deps.sh)"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail deps "no Chromium at $chromium (apt-get install chromium)"
for t in sipp tshark sox node npm; do
	command -v "$t" >/dev/null 2>&1 || fail deps "$t is missing (build/install-deps.sh installs it)"
done
work=$(mktemp -d)
node=
cleanup() {
	# Every line succeeds: dash ends with the trap's status otherwise.
	# smoke.mjs ends what it started when it is told to stop.
	if [ -n "$node" ]; then kill "$node" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	end_groups "$work/pids" "$work/agent/pids"
	if [ -n "${CONSOLE_SMOKE_KEEP:-}" ]; then
		echo "console-smoke: the run's files are in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
# A signal ends the script (then EXIT cleans up), rather than going on
# after cleanup has removed the run's folder.
trap 'printf '"'"'{"ok":false,"step":"stopped","error":"stopped by SIGINT"}\n'"'"'; exit 130' INT
trap 'printf '"'"'{"ok":false,"step":"stopped","error":"stopped by SIGTERM"}\n'"'"'; exit 143' TERM

build_browser_run "$work" ./server/cmd/hushphone-server ./desktop/cmd/hushphone-agent ./tools/paycaller

# ann's voice: 1000 Hz at -12 dBFS, 8 kHz mono, longer than the call. The
# supervisor's microphone: 600 Hz at -12 dBFS (Chromium loops the file).
sox -n -r 8000 -c 1 -b 16 "$work/tone.wav" synth 90 sine 1000 gain -12 || fail build "sox could not make the agent's tone"
sox -n -r 48000 -c 1 -b 16 "$work/sup.wav" synth 20 sine 600 gain -12 || fail build "sox could not make the microphone's tone"
# The browser agent carl's microphone: 700 Hz at -12 dBFS (agent.mjs
# checks the caller hears it at that level).
sox -n -r 48000 -c 1 -b 16 "$work/agent.wav" synth 30 sine 700 gain -12 || fail build "sox could not make the browser agent's tone"

mkdir -p "$out"
rm -f "$out/wallboard.png" "$out/live-call.png" "$out/recordings.png" "$out/users.png"
# Its progress goes to stderr; its one JSON line to stdout. timeout is a
# last resort over smoke.mjs's own bound.
status=0
CHROMIUM="$chromium" timeout -k 15 300 node build/console-smoke/smoke.mjs --bin "$work/bin" --out "$out" --work "$work" \
	--tone "$work/tone.wav" --mic "$work/sup.wav" >"$work/report.json" &
node=$!
wait "$node" || status=$?
node=
report=$(grep '^{' "$work/report.json" | tail -1 || true)
if [ -z "$report" ]; then
	fail browser "smoke.mjs printed no report (exit $status)"
fi
if [ "$status" -ne 0 ]; then
	echo "$report"
	exit "$status"
fi

# The browser agent, on the same build, with a server of its own.
CHROMIUM="$chromium" timeout -k 15 120 node build/console-smoke/agent.mjs --bin "$work/bin" --work "$work/agent" \
	--mic "$work/agent.wav" >"$work/agent-report.json" &
node=$!
wait "$node" || status=$?
node=
agent=$(grep '^{' "$work/agent-report.json" | tail -1 || true)
if [ -z "$agent" ]; then
	fail "browser agent" "agent.mjs printed no report (exit $status)"
fi
# One line: smoke's report with the agent's as "browserAgent"; a failed
# agent makes the whole report a failure, naming its step.
printf '%s\n%s\n' "$report" "$agent" | node -e '
const [smoke, agent] = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const out = agent.ok ? { ...smoke, browserAgent: agent }
  : { ok: false, step: `browser agent: ${agent.step}`, error: agent.error, smoke };
process.stdout.write(JSON.stringify(out) + "\n");
' || fail "browser agent" "merging the reports failed"
if [ "$status" -eq 0 ] && ! grep -q '"ok":true' "$work/agent-report.json"; then status=1; fi
exit "$status"
