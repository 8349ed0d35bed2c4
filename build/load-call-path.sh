#!/bin/bash
# The whole call path under load, by hand: `make load-call-path N=100`.
#
# Starts `hushphone-server serve` on a scratch data directory, signs in N
# headless agents (hushphone-agent --agents 50 --auto-answer, N/50 of them), and has sipp
# place N concurrent calls, each playing SECS seconds of mu-law audio with
# an in-band DTMF key every 10 s (tools/loadpcap). Every call is masked,
# sent to an agent over WebRTC (DTLS-SRTP) and recorded.
#
# Once every agent leg is connected (and SETTLE more seconds), it samples
# for WINDOW seconds, with all N calls up:
#   - the server's CPU per call-second in steady state, and the agents'
#     process's (the agents run on the same cores: their CPU is CPU the
#     server does not get);
#   - the added latency's p50 and p99 and the share over 60 ms, from
#     /metrics' histogram (interpolated within its buckets).
# After the calls it reports what the whole run cost beyond steady state,
# per call (setting up: SIP, ICE, DTLS, the recording; tearing down), and
# the caller packets received and lost.
#
# Settings (environment): SECS (default: long enough for the window),
# WINDOW (20), SETTLE (3), RATE (calls placed per second, 50), PROFILE
# (a file: a CPU profile of the server over the window goes there).
#
# Uses loopback ports 18080 (HTTP), 18081 (pprof), 18082 (/metrics, on the
# server's metrics listener) and 15060 (SIP). Other
# work on this machine shares its cores: the load average before each run
# is printed to say how noisy the figures are.
set -euo pipefail
N=${1:-20}
WINDOW=${WINDOW:-20}
SETTLE=${SETTLE:-3}
RATE=${RATE:-50}
# Calls are placed over N/RATE s, and set up as fast as the cores allow.
SECS=${SECS:-$((N / RATE + N / 20 + SETTLE + WINDOW + 30))}
work=$(mktemp -d /tmp/hushphone-load.XXXXXX)
trap 'kill ${SP:-} ${APS[@]:-} 2>/dev/null || true; [ -n "${SIPP:-}" ] && kill -9 $SIPP 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
trap "exit 1" INT TERM
go build -o "$work/hushphone-server" ./server/cmd/hushphone-server
go build -o "$work/hushphone-agent" ./desktop/cmd/hushphone-agent
go run ./tools/loadpcap -seconds "$SECS" -dir "$work"

# The agents sign in in batches of BATCH, one hushphone-agent process per
# batch (b1x1..b1x50, b2x1..): every sign-in costs the server an argon2id
# hash of 64 MiB, and hundreds at once exhaust the memory. Adding an agent
# takes 0.2 s, so they are kept between runs in a template data directory.
BATCH=${BATCH:-50}
batches=$(((N + BATCH - 1) / BATCH))
users=${TMPDIR:-/tmp}/hushphone-load-agents$BATCH
mkdir -p "$users"
have=$(cat "$users/count" 2>/dev/null || echo 0)
for k in $(seq $((have + 1)) "$batches"); do
	for i in $(seq 1 "$BATCH"); do
		echo "load-password" | "$work/hushphone-server" user add --name "b${k}x$i" --role agent --password-stdin --data "$users" >/dev/null
	done
	echo "$k" >"$users/count"
done
mkdir -p "$work/data"
cp "$users"/hushphone.db* "$work/data/"

cpu() { for p; do cat "/proc/$p/stat"; done | awk '{s += $14 + $15} END {print s}'; }
hz=$(getconf CLK_TCK)
metrics() { curl -s --max-time 10 http://127.0.0.1:18082/metrics; }
m() { awk -v k="$1" '$1==k {print $2}'; }
# quantile Q BEFORE AFTER: the added latency's Q-quantile in ms between two
# scrapes, interpolated linearly within the histogram's bucket.
quantile() {
	awk -v q="$1" -F'[" ]' '/^hushphone_added_latency_seconds_bucket/ {
		if (FILENAME == ARGV[1]) { b[$2] = $NF; next }
		n++; le[n] = $2; c[n] = $NF - b[$2] }
		END {
			tot = c[n]; if (tot == 0) { print "n/a"; exit }
			t = q * tot; lo = 0; plo = 0
			for (i = 1; i <= n; i++) {
				if (c[i] >= t) {
					if (le[i] == "+Inf") { printf "> %.1f", 1000 * lo; exit }
					printf "%.3f", 1000 * (lo + (le[i] - lo) * (t - plo) / (c[i] - plo)); exit
				}
				lo = le[i]; plo = c[i]
			}
		}' "$2" "$3"
}
# over LE BEFORE AFTER: the share of frames whose added latency was over LE s.
over() {
	local b a tb ta
	b=$(m "hushphone_added_latency_seconds_bucket{le=\"$1\"}" <"$2"); a=$(m "hushphone_added_latency_seconds_bucket{le=\"$1\"}" <"$3")
	tb=$(m hushphone_added_latency_seconds_count <"$2"); ta=$(m hushphone_added_latency_seconds_count <"$3")
	echo "100 * (($ta - $tb) - ($a - $b)) / ($ta - $tb)" | bc -l
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
pprof=()
[ -n "${PROFILE:-}" ] && pprof=(--pprof 127.0.0.1:18081)
"$work/hushphone-server" serve --data "$work/data" --http 127.0.0.1:18080 --metrics 127.0.0.1:18082 --sip 127.0.0.1:15060 --invite-rate 0 --max-calls $((N + 10)) "${pprof[@]}" >"$work/serve.log" 2>&1 &
SP=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.2; done
APS=()
for k in $(seq 1 "$batches"); do
	n=$((k < batches ? BATCH : N - (batches - 1) * BATCH))
	echo "load-password" | "$work/hushphone-agent" --server http://127.0.0.1:18080 --agents "$n" --user "b${k}x" \
		--password-stdin --auto-answer --calls "$n" >"$work/agents$k.log" 2>&1 &
	APS+=($!)
	# They sign in (argon2id takes a while per agent) and become available.
	deadline=$((SECONDS + 60))
	until [ "$(grep -c 'msg="agent registered"' "$work/serve.log" || true)" -ge $(((k - 1) * BATCH + n)) ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "only $(grep -c 'msg="agent registered"' "$work/serve.log" || true) of $N agents signed in"
			exit 1
		fi
		sleep 0.5
	done
done
sleep 1
s0=$(cpu $SP) a0=$(cpu "${APS[@]}") t0=$(date +%s.%N)
sleep 3
s1=$(cpu $SP) a1=$(cpu "${APS[@]}") t1=$(date +%s.%N)
printf 'idle, %d agents signed in: server %.1f%% of a core, agents %.1f%%\n' "$N" \
	"$(echo "100 * ($s1 - $s0) / $hz / ($t1 - $t0)" | bc -l)" "$(echo "100 * ($a1 - $a0) / $hz / ($t1 - $t0)" | bc -l)"
idle=$(echo "($s1 - $s0) / $hz / ($t1 - $t0)" | bc -l)

echo "placing $N calls of $SECS s at $RATE a second"
(cd "$work" && exec sipp -sf caller.xml -s hushphone -m "$N" -l "$N" -r "$RATE" -i 127.0.0.1 -p 15070 -mp 16000 \
	-max_socket 4096 -timeout $((SECS + 120))s -nostdin 127.0.0.1:15060 >"$work/sipp.log" 2>&1) &
SIPP=$!
c0=$(cpu $SP) ca0=$(cpu "${APS[@]}") w0=$(date +%s.%N)
legs() { grep -c 'agent leg state.*state=connected' "$work/serve.log" || true; }
deadline=$((SECONDS + N / RATE + 15 + N / 20))
until [ "$(legs)" -ge "$N" ] || [ $SECONDS -ge $deadline ]; do
	sleep 0.5
done
up=$(echo "$(date +%s.%N) - $w0" | bc -l)
if [ "$(legs)" -ge "$N" ]; then
	printf 'all %d agent legs connected %.1f s after the first call\n' "$N" "$up"
else
	printf 'WARNING: only %d of %d agent legs connected %.1f s after the first call (%d failed); measuring anyway\n' \
		"$(legs)" "$N" "$up" "$(grep -c 'agent leg state.*state=failed' "$work/serve.log" || true)"
	KEEP=1
fi
sleep "$SETTLE"
echo "window load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${PROFILE:-}" ]; then
	curl -s --max-time $((WINDOW + 20)) -o "$PROFILE" "http://127.0.0.1:18081/debug/pprof/profile?seconds=$WINDOW" &
	PF=$!
fi
metrics >"$work/m0"
s0=$(cpu $SP) a0=$(cpu "${APS[@]}") t0=$(date +%s.%N)
sleep "$WINDOW"
s1=$(cpu $SP) a1=$(cpu "${APS[@]}") t1=$(date +%s.%N)
metrics >"$work/m1"
[ -n "${PF:-}" ] && wait "$PF"
active=$(m hushphone_calls_active <"$work/m1")
[ "${active%.*}" -ge "$N" ] || echo "warning: only $active calls active at the window's end: make SECS longer"
wait $SIPP || { echo "sipp failed:"; tail -20 "$work/sipp.log"; exit 1; }
SIPP=
for k in "${!APS[@]}"; do
	wait "${APS[$k]}" || { echo "agents failed:"; tail -20 "$work/agents$((k + 1)).log"; exit 1; }
done
APS=()
c1=$(cpu $SP) w1=$(date +%s.%N)
metrics >"$work/m2"
win=$(echo "$t1 - $t0" | bc -l)
audio=$(m 'hushphone_caller_rtp_packets_total{outcome="audio"}' <"$work/m2")
callsec=$(echo "$audio / 50" | bc -l)
steady=$(echo "1000 * ($s1 - $s0) / $hz / ($N * $win)" | bc -l)
total=$(echo "($c1 - $c0) / $hz" | bc -l)
printf 'calls: %s offered, %s ended\n' "$(m hushphone_calls_offered_total <"$work/m2")" "$(m hushphone_calls_ended_total <"$work/m2")"
printf 'caller packets: %s audio, %s lost, %s late\n' "$audio" "$(m hushphone_caller_rtp_lost_total <"$work/m2")" \
	"$(m 'hushphone_caller_rtp_packets_total{outcome="late"}' <"$work/m2")"
printf 'steady state, %d calls up, %.1f s: server %.1f%% of a core = %.2f ms CPU per call-second; agents %.1f%% = %.2f ms per call-second\n' \
	"$N" "$win" "$(echo "100 * ($s1 - $s0) / $hz / $win" | bc -l)" "$steady" \
	"$(echo "100 * ($a1 - $a0) / $hz / $win" | bc -l)" "$(echo "1000 * ($a1 - $a0) / $hz / ($N * $win)" | bc -l)"
printf 'added latency in the window: p50 %s ms, p99 %s ms, %.4f%% of frames over 60 ms\n' \
	"$(quantile 0.5 "$work/m0" "$work/m1")" "$(quantile 0.99 "$work/m0" "$work/m1")" "$(over 0.06 "$work/m0" "$work/m1")"
printf 'added latency, whole run: p50 %s ms, p99 %s ms, mean %.3f ms\n' \
	"$(quantile 0.5 /dev/null "$work/m2")" "$(quantile 0.99 /dev/null "$work/m2")" \
	"$(echo "1000 * $(m hushphone_added_latency_seconds_sum <"$work/m2") / $(m hushphone_added_latency_seconds_count <"$work/m2")" | bc -l)"
printf 'whole run: server %.2f s CPU over %.1f s wall, %.0f call-seconds; beyond steady state and idle: %.3f s per call (set-up and tear-down)\n' \
	"$total" "$(echo "$w1 - $w0" | bc -l)" "$callsec" \
	"$(echo "($total - $steady * $callsec / 1000 - $idle * ($w1 - $w0)) / $N" | bc -l)"
if [ -n "${PROFILE:-}" ]; then
	cp "$work/hushphone-server" "$PROFILE.bin"
	echo "CPU profile of the window: $PROFILE (go tool pprof -top $PROFILE.bin $PROFILE)"
fi
exit 0
