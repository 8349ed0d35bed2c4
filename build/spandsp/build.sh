#!/bin/sh
# Build the spandsp dtmf_rx harness. Usage: build/spandsp/build.sh [OUT]
# Needs a C compiler, pkg-config and Debian's libspandsp-dev.
set -eu
dir=$(dirname "$0")
out=${1:-"$dir/dtmfrx"}
cc=${CC:-cc}
# shellcheck disable=SC2046
exec "$cc" -O2 -Wall -Wextra -std=c11 $(pkg-config --cflags spandsp) \
	-o "$out" "$dir/dtmfrx.c" $(pkg-config --libs spandsp) -lm
