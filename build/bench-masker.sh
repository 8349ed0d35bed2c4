#!/usr/bin/env bash
# The Masker against spandsp's detector, on this machine, in one run.
#
#   build/bench-masker.sh [RUNS]     (default 7)
#
# Interleaves RUNS runs of BenchmarkMaskFrame (decode, detect, mask and
# encode one 20 ms mu-law frame of the corpus's nominal case) with RUNS runs
# of spandsp's dtmf_rx over the same file (build/spandsp), and prints each
# one's median ns per 20 ms frame and their ratio (ours / spandsp's: 1.0 or
# less means the whole Masker is no slower than spandsp's detector alone).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
corpus=${CORPUS:-testdata/dtmf-corpus}
wav="$corpus/nominal.wav"
[ -f "$wav" ] || { echo "bench-masker: $wav not found (set CORPUS to the dtmf-corpus folder)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/spandsp/build.sh "$tmp/dtmfrx" >/dev/null
go test -c -o "$tmp/mask.test" ./media/mask

ours=() theirs=()
for _ in $(seq "$runs"); do
	ours+=("$("$tmp/mask.test" -test.run '^$' -test.bench '^BenchmarkMaskFrame$' -test.benchtime 2s -test.benchmem |
		awk '/^BenchmarkMaskFrame/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") print $i }')")
	theirs+=("$("$tmp/dtmfrx" --bench "$wav" --iterations 1000 | sed -n 's/^ns_per_frame=\([0-9.]*\).*/\1/p')")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
echo "runs:                      $runs (interleaved)"
echo "Masker, whole frame path:  ${ours[*]} ns/frame -> median $m_ours"
echo "spandsp dtmf_rx alone:     ${theirs[*]} ns/frame -> median $m_theirs"
awk -v a="$m_ours" -v b="$m_theirs" 'BEGIN { printf "ratio (Masker / spandsp):  %.2f\n", a / b }'
