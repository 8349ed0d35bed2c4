#!/usr/bin/env bash
# Install the Debian packages the build and the tests use, if any is missing.
# Run as root or with sudo; does nothing when everything is there.
#
# With --build, only what building the server needs (cgo and libopus, for
# internal/opus): what make run calls first.
#
#   libopus-dev                                   the Opus codec (internal/opus, cgo, found through pkg-config):
#                                                 the agents' WebRTC legs transcode PCMU to and from Opus
#   make gcc libc6-dev pkg-config libspandsp-dev  spandsp's dtmf_rx harness (build/spandsp); gcc and
#                                                 libc6-dev are also cgo's, for malgo (desktop/engine's
#                                                 sound devices: it loads ALSA or PulseAudio at run
#                                                 time, so no sound package is needed to build or test)
#   multimon-ng dtmf2num                          independent DTMF detectors on masked audio
#   sox                                           audio conversion and checks
#   espeak-ng                                     speech for generated talk-off test audio
#   sip-tester                                    sipp, for the SIP integration tests to come
#   baresip-core                                  baresip, a second real SIP client (internal/e2e);
#                                                 the "baresip" metapackage adds only GUI recommends
#   ca-certificates git                           the Go module proxy, go's VCS stamping
set -euo pipefail
build=(gcc libc6-dev pkg-config libopus-dev)
packages=(
	"${build[@]}" make libspandsp-dev
	multimon-ng dtmf2num sox espeak-ng sip-tester baresip-core
	ca-certificates git
)
if [ "${1:-}" = "--build" ]; then
	packages=("${build[@]}")
elif [ "$#" -gt 0 ]; then
	echo "usage: $0 [--build]" >&2
	exit 2
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
