#!/bin/sh
# The desktop app's smoke run, as CI performs it:
#
#   build/desktop-smoke.sh OUT.png [VIEWS_DIR]
#
# builds the app with its smoke run (build/desktop.sh with the smoke tag),
# starts a test server on loopback with the sandbox gateway and an agent,
# and starts the real app window under xvfb-run with HUSHPHONE_SMOKE=1: it
# signs in, answers the call that sipp
# places (tools/paycaller), takes the sandbox payment the caller types
# (4242 4242 4242 4242, 09/31, 737), and saves a screenshot of its window
# showing the approved outcome to OUT.png. It prints the app's one-line
# JSON report ({"ok":true,"result":"approved",...,"ready_ms":...,
# "rss_mb":...}) and exits 0; any failure exits non-zero with the reason.
# Then it searches what the app and the server wrote for the card number.
# With VIEWS_DIR it also saves the main views there (make docs-screenshots
# keeps docs/screenshots/ current this way).
set -eu
cd "$(dirname "$0")/.."
shot=${1:-}
views=${2:-}
if [ -z "$shot" ]; then
	echo "usage: $0 OUT.png [VIEWS_DIR]" >&2
	exit 2
fi
case "$shot" in /*) ;; *) shot="$PWD/$shot" ;; esac
case "$views" in /* | "") ;; *) views="$PWD/$views" ;; esac
fail() {
	echo "{\"ok\":false,\"error\":\"$*\"}"
	exit 1
}
build/install-deps.sh >/dev/null || fail "installing the Debian packages failed"
work=$(mktemp -d)
server=
caller=
cleanup() {
	# Every line succeeds: dash ends with the trap's status otherwise.
	if [ -n "$caller" ]; then kill "$caller" 2>/dev/null || true; fi
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
HUSHPHONE_TAGS=smoke build/desktop.sh "$work/hushphone" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; fail "the build failed (see above)"; }
go build -o "$work" ./server/cmd/hushphone-server ./tools/paycaller || fail "building the server failed"

# A free port for HTTP and one for SIP (the server takes them at once).
http=$("$work/paycaller" --free-port) || fail "no free port"
sip=$("$work/paycaller" --free-port) || fail "no free port"
printf 'smoke-password\n' | "$work/hushphone-server" user add --data "$work/data" --name smoke --role agent --password-stdin >/dev/null || fail "adding the agent failed"
"$work/hushphone-server" serve --data "$work/data" --http "127.0.0.1:$http" --metrics 127.0.0.1:0 --sip "127.0.0.1:$sip" >"$work/server.log" 2>&1 &
server=$!
i=0
until curl -fsS "http://127.0.0.1:$http/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -gt 50 ] && { tail -5 "$work/server.log" >&2; fail "the test server did not start"; }
	sleep 0.2
done

# The caller: it waits in the queue until the app is signed in and
# answers, then types the card 4 s later.
"$work/paycaller" --sip "127.0.0.1:$sip" --type 4242424242424242#0931737 --after 4s --wait 60s >"$work/caller.log" 2>&1 &
caller=$!

export HUSHPHONE_SMOKE=1 HUSHPHONE_SMOKE_SERVER="http://127.0.0.1:$http" HUSHPHONE_SMOKE_USER=smoke \
	HUSHPHONE_SMOKE_PASSWORD=smoke-password HUSHPHONE_SMOKE_SHOT="$shot" HUSHPHONE_CONFIG_DIR="$work/config" \
	HUSHPHONE_SMOKE_VIEWS="$views"
rm -f "$shot"
status=0
xvfb-run -a -s "-screen 0 1120x760x24" "$work/hushphone" >"$work/app.out" 2>"$work/app.err" || status=$?
report=$(grep '^{' "$work/app.out" | tail -1 || true)
if [ -z "$report" ]; then
	tail -20 "$work/app.err" >&2
	fail "the app printed no report (exit $status)"
fi
# The card number must be nowhere but in the gateway's request: no 7 of
# its digits in a row in what the app saved or printed, nor in the
# server's log and database (the recordings are audio: the Go tests search
# them with DTMF detectors; the expiry and security code too).
pan=4242424242424242
leak=
for i in 0 1 2 3 4 5 6 7 8 9; do
	if grep -rqa --exclude='*.wav' -- "$(echo "$pan" | cut -c$((i + 1))-$((i + 7)))" \
		"$work/config" "$work/app.out" "$work/app.err" "$work/server.log" "$work/data"; then
		leak="7 digits of the card number"
	fi
done
if [ -n "$leak" ]; then
	echo "$report"
	fail "$leak found in what the app or the server wrote"
fi
echo "$report"
case "$report" in
*'"ok":true'*) [ "$status" -eq 0 ] && [ -s "$shot" ] && exit 0 ;;
esac
if [ -s "$shot" ]; then have=present; else have=missing; fi
echo "desktop-smoke: the app exited with status $status; the screenshot is $have" >&2
tail -20 "$work/app.err" >&2
exit 1
