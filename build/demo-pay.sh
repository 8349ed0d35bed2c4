#!/bin/sh
# Secure pay end to end, against the server `make run` started (in another
# terminal, on its defaults): a headless agent (demo-pay) answers, starts a
# payment of 12.50 GBP and submits it; sipp, as the caller, types the
# sandbox's test card on the keypad. Prints the agent's outcome line.
#
#   build/demo-pay.sh [KEYS] [--rfc4733]
#
# KEYS default to 4242424242424242#0931737 (card, #, expiry 09/31, security
# code 737). Try 4000000000000002#0931737 for a decline. Needs sipp
# (make deps installs it). The agent's password is set on first use.
set -eu
cd "$(dirname "$0")/.."
KEYS=${1:-4242424242424242#0931737}
MODE=${2:-}
SERVER=${HUSHPHONE_SERVER:-http://127.0.0.1:8080}
SIP=${HUSHPHONE_SIP:-127.0.0.1:5060}
DATA=${HUSHPHONE_DATA:-data}
PW=demo-pay-password

i=0
until curl -fsS "$SERVER/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 30 ]; then
		echo "demo-pay: no server at $SERVER: start one with 'make run' in another terminal" >&2
		exit 1
	fi
	[ "$i" -eq 1 ] && echo "demo-pay: waiting for the server at $SERVER..."
	sleep 1
done
bin=$(mktemp -d)
trap 'rm -rf "$bin"; [ -n "${agent:-}" ] && kill "$agent" 2>/dev/null; true' EXIT
go build -o "$bin" ./server/cmd/hushphone-server ./desktop/cmd/hushphone-agent ./tools/paycaller
if ! "$bin/hushphone-server" user list --data "$DATA" 2>/dev/null | grep -q '^demo-pay '; then
	printf '%s\n' "$PW" | "$bin/hushphone-server" user add --data "$DATA" --name demo-pay --role agent --password-stdin
fi
printf '%s\n' "$PW" | "$bin/hushphone-agent" --server "$SERVER" --user demo-pay --password-stdin \
	--auto-answer --calls 1 --pay 1250:GBP >"$bin/agent.out" 2>&1 &
agent=$!
sleep 2 # signed in and available
if [ "$MODE" = --rfc4733 ]; then
	"$bin/paycaller" --sip "$SIP" --type "$KEYS" --rfc4733
else
	"$bin/paycaller" --sip "$SIP" --type "$KEYS"
fi
wait "$agent" || true
agent=
echo "the agent saw:"
cat "$bin/agent.out"
