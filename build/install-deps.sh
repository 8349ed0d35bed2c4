#!/usr/bin/env bash
# Install the Debian packages the build and the tests use, if any is missing.
# Run as root or with sudo; does nothing when everything is there.
#
# With --build, only what building the server needs (cgo, libopus for
# internal/opus and libspandsp for server/proof, and npm for the console's
# page, which the server embeds): what make run calls first.
# With --desktop, what building the desktop app needs besides (GTK and
# WebKitGTK, for Wails): what build/desktop.sh calls first.
#
#   libopus-dev                                   the Opus codec (internal/opus, cgo, found through pkg-config):
#                                                 the agents' WebRTC legs transcode PCMU to and from Opus
#   libspandsp-dev                                spandsp's dtmf_rx, the independent detector of the masking
#                                                 proof (server/proof, cgo, through pkg-config)
#   make gcc libc6-dev pkg-config                 spandsp's dtmf_rx harness (build/spandsp); gcc and
#                                                 libc6-dev are also cgo's, for malgo (desktop/engine's
#                                                 sound devices: it loads ALSA or PulseAudio at run
#                                                 time, so no sound package is needed to build or test)
#   multimon-ng dtmf2num                          independent DTMF detectors on masked audio
#   sox                                           audio conversion and checks
#   espeak-ng                                     speech for generated talk-off test audio
#   sip-tester                                    sipp, for the SIP integration tests to come
#   baresip-core                                  baresip, a second real SIP client (e2e);
#                                                 the "baresip" metapackage adds only GUI recommends
#   pebble                                        Let's Encrypt's ACME test server: serve's automatic
#                                                 certificates (--acme-domain) are tested against it
#   tshark                                        captures a call's packets on loopback (e2e: SIP over
#                                                 TLS and SRTP leave nothing in clear)
#   kamailio                                      a real SIP proxy with Record-Route, between sipp and
#                                                 the trunk (server/trunk's in-dialog tests)
#   ca-certificates git                           the Go module proxy, go's VCS stamping
#   libgtk-3-dev libwebkit2gtk-4.1-dev            the desktop app's window (Wails v2, tag webkit2_41)
#   fonts-dejavu-core                             a font for the window's text
#   xvfb xauth imagemagick                        the desktop smoke run: a virtual screen, and
#                                                 a screenshot of the app's window (import)
#   nodejs npm                                    the UI's and the console's build and tests (if npm is missing)
#   chromium                                      the console's smoke run (build/console-smoke.sh): Debian's
#                                                 Chromium driven by playwright-core, never a downloaded browser
set -euo pipefail
build=(gcc libc6-dev pkg-config libopus-dev libspandsp-dev)
desktop=("${build[@]}" libgtk-3-dev libwebkit2gtk-4.1-dev fonts-dejavu-core)
packages=(
	"${desktop[@]}" make
	multimon-ng dtmf2num sox espeak-ng sip-tester baresip-core pebble tshark kamailio
	ca-certificates git xvfb xauth imagemagick chromium
)
if [ "${1:-}" = "--build" ]; then
	packages=("${build[@]}")
elif [ "${1:-}" = "--desktop" ]; then
	packages=("${desktop[@]}")
elif [ "$#" -gt 0 ]; then
	echo "usage: $0 [--build|--desktop]" >&2
	exit 2
fi
# Node.js and npm come with the machine; Debian's when they do not.
if ! command -v npm >/dev/null 2>&1; then
	packages+=(nodejs npm)
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
# Debian may start Kamailio as a service on 5060, every address, which would
# take the server's default SIP port: the tests run their own, so the
# service is stopped and disabled.
if [[ " ${missing[*]} " == *" kamailio "* ]] && command -v systemctl >/dev/null 2>&1; then
	"${sudo[@]}" systemctl disable --now kamailio.service >/dev/null 2>&1 || true
fi
