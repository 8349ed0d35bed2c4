#!/bin/sh
# Rebuilds the recorded voices in this folder from the Debian packages they
# come from (see README.md). Needs sox. Run from anywhere:
#   sh testdata/voices/make.sh
# The packages are fetched with apt-get download and unpacked in a temporary
# folder; nothing is installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav \
	asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav alsa-utils \
	asterisk-moh-opsound-wav >/dev/null
for d in *.deb; do dpkg-deb -x "$d" x; done
snd=x/usr/share/asterisk/sounds

# voice NAME SECONDS FILE...: the prompts trimmed of leading and trailing
# silence, 150 ms apart, until SECONDS are filled, as 8 kHz mu-law.
voice() {
	name=$1 secs=$2
	shift 2
	i=0
	for f in "$@"; do
		sox "$f" -r 8000 -c 1 -b 16 -e signed "p$i.wav" \
			silence 1 0.01 -45d reverse silence 1 0.01 -45d reverse pad 0 0.15
		i=$((i + 1))
	done
	# shellcheck disable=SC2046
	sox $(ls p*.wav | sort -V) -e mu-law -b 8 "$here/$name.wav" trim 0 "$secs"
	rm -f p*.wav
}

# Every third prompt of the top folder, in name order: words, numbers,
# sentences, by one speaker each.
for v in en_US_f_Allison:en-allison fr_CA_f_June:fr-june it_IT_m_Carlo:it-carlo ru_RU_f_IvrvoiceRU:ru-ivrvoice; do
	dir=${v%%:*} name=${v#*:}
	# shellcheck disable=SC2046
	voice "$name" 60 $(find "$snd/$dir" -maxdepth 1 -name '*.wav' | LC_ALL=C sort | awk 'NR % 3 == 1')
done
# alsa-utils' speaker-test voice: nine short phrases.
# shellcheck disable=SC2046
voice alsa 60 $(LC_ALL=C ls x/usr/share/sounds/alsa/*.wav | grep -v Noise)
# Music: 30 s of one piece of music on hold.
sox x/usr/share/asterisk/moh/macroform-cold_day.wav -r 8000 -c 1 -e mu-law -b 8 "$here/music-cold-day.wav" trim 20 30
