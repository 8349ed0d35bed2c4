#!/bin/bash
# The whole call path under load, by hand: `make load-call-path N=20`.
#
# Starts `hushphone-server serve` on a scratch data directory, signs in N
# headless agents (hushphone-agent --agents N --auto-answer), and has sipp
# place N concurrent calls with its uac_pcap scenario (A-law audio, then the
# key 1 as RFC 4733 events). Every call is masked, sent to an agent over
# WebRTC and recorded. Prints the server's CPU per call-second and what
# /metrics counted (calls, caller packets, loss, mean added latency).
#
# Uses loopback ports 18080 (HTTP) and 15060 (SIP). Everything, the agents
# and sipp included, shares this machine's cores: a ceiling, not a capacity.
set -euo pipefail
N=${1:-20}
work=$(mktemp -d /tmp/hushphone-load.XXXXXX)
trap 'kill ${SP:-} ${AP:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/hushphone-server" ./server/cmd/hushphone-server
go build -o "$work/hushphone-agent" ./desktop/cmd/hushphone-agent
for i in $(seq 1 "$N"); do
	echo "load-password" | "$work/hushphone-server" user add --name "bot$i" --role agent --password-stdin --data "$work/data" >/dev/null
done
"$work/hushphone-server" serve --data "$work/data" --http 127.0.0.1:18080 --sip 127.0.0.1:15060 >"$work/serve.log" 2>&1 &
SP=$!
sleep 2
echo "load-password" | "$work/hushphone-agent" --server http://127.0.0.1:18080 --agents "$N" --user bot \
	--password-stdin --auto-answer --calls "$N" >"$work/agents.log" 2>&1 &
AP=$!
# Time for the agents to sign in (argon2id takes a while per agent); calls
# that come before an agent is free wait in the queue.
sleep $((3 + N / 10))
mkdir -p "$work/pcap"
cp /usr/share/sip-tester/g711a.pcap /usr/share/sip-tester/dtmf_2833_1.pcap "$work/pcap/"
cpu0=$(awk '{print $14+$15}' /proc/$SP/stat)
t0=$(date +%s.%N)
(cd "$work" && sipp -sn uac_pcap -m "$N" -l "$N" -r "$N" -i 127.0.0.1 -p 15070 -mp 16000 \
	-timeout 120s -nostdin 127.0.0.1:15060 >"$work/sipp.log" 2>&1) || { echo "sipp failed:"; tail -20 "$work/sipp.log"; exit 1; }
cpu1=$(awk '{print $14+$15}' /proc/$SP/stat)
t1=$(date +%s.%N)
wait $AP || { echo "agents failed:"; tail -20 "$work/agents.log"; exit 1; }
AP=
metrics=$(curl -s http://127.0.0.1:18080/metrics)
m() { echo "$metrics" | awk -v k="$1" '$1==k {print $2}'; }
hz=$(getconf CLK_TCK)
audio=$(m 'hushphone_caller_rtp_packets_total{outcome="audio"}')
callsec=$(echo "$audio / 50" | bc -l)
printf 'calls: %s offered, %s ended\n' "$(m hushphone_calls_offered_total)" "$(m hushphone_calls_ended_total)"
printf 'caller packets: %s audio, %s lost\n' "$audio" "$(m hushphone_caller_rtp_lost_total)"
printf 'mean added latency: %.3f ms\n' "$(echo "1000 * $(m hushphone_added_latency_seconds_sum) / $(m hushphone_added_latency_seconds_count)" | bc -l)"
printf 'server CPU: %.2f s over %.1f s wall, %.2f ms per call-second (%.0f call-seconds)\n' \
	"$(echo "($cpu1 - $cpu0) / $hz" | bc -l)" "$(echo "$t1 - $t0" | bc -l)" \
	"$(echo "1000 * ($cpu1 - $cpu0) / $hz / $callsec" | bc -l)" "$callsec"
