package dtmfgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrNoEspeak is returned when espeak-ng, the speech synthesizer, is not
// installed. Install the Debian package espeak-ng; tests skip on this error.
var ErrNoEspeak = errors.New("dtmfgen: espeak-ng is not installed (apt-get install espeak-ng)")

// Voice is one espeak-ng voice: a language with an optional variant, a speed
// and a pitch.
type Voice struct {
	Name  string `json:"name"`  // espeak-ng -v: "en-us", "de+m3", "fr-fr+f2"
	Speed int    `json:"speed"` // words per minute (-s); 0 means 160
	Pitch int    `json:"pitch"` // 0-99 (-p); 0 means 50
}

func (v Voice) String() string {
	return fmt.Sprintf("%s/s%d/p%d", v.Name, v.speed(), v.pitch())
}

func (v Voice) speed() int {
	if v.Speed == 0 {
		return 160
	}
	return v.Speed
}

func (v Voice) pitch() int {
	if v.Pitch == 0 {
		return 50
	}
	return v.Pitch
}

// lang is the language part of the voice name, which picks the word list.
func (v Voice) lang() string {
	l, _, _ := strings.Cut(v.Name, "+")
	return l
}

// The voices random speech is drawn from: languages times variants, at a
// random speed and pitch.
var (
	voiceLangs    = []string{"en-us", "en-gb", "en-us", "en-gb", "de", "fr-fr", "es", "it", "nl", "pt", "pl", "sv"}
	voiceVariants = []string{
		"", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
		"klatt", "klatt2", "klatt3", "Annie", "Andy", "Alicia", "grandma", "croak", "whisper",
	}
)

// RandomVoice draws a voice: a language, a variant, 120-210 words per minute,
// pitch 20-80.
func RandomVoice(r *rand.Rand) Voice {
	name := pick(r, voiceLangs)
	if v := pick(r, voiceVariants); v != "" {
		name += "+" + v
	}
	return Voice{Name: name, Speed: 120 + r.IntN(91), Pitch: 20 + r.IntN(61)}
}

// Available reports whether speech can be generated: nil, or an error
// wrapping ErrNoEspeak.
func Available() error {
	_, err := espeakVersion()
	return err
}

var espeak struct {
	once    sync.Once
	version string
	err     error
}

func espeakVersion() (string, error) {
	espeak.once.Do(func() {
		path, err := exec.LookPath("espeak-ng")
		if err != nil {
			espeak.err = fmt.Errorf("%w: %w", ErrNoEspeak, err)
			return
		}
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			espeak.err = fmt.Errorf("%w: %s --version: %w", ErrNoEspeak, path, err)
			return
		}
		espeak.version = strings.TrimSpace(string(out))
	})
	return espeak.version, espeak.err
}

// cacheDir holds espeak-ng output, one WAV per (voice, text):
// $HUSHPHONE_DTMFGEN_CACHE, or a directory in os.TempDir.
func cacheDir() string {
	if d := os.Getenv("HUSHPHONE_DTMFGEN_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "hushphone-dtmfgen-"+strconv.Itoa(os.Getuid()))
}

// speak returns text spoken by v at 8 kHz, band-limited to a telephone
// channel (200-3500 Hz) and trimmed of leading and trailing silence, at the
// synthesizer's own level.
func speak(ctx context.Context, v Voice, text string) ([]float64, error) {
	version, err := espeakVersion()
	if err != nil {
		return nil, err
	}
	args := []string{"-v", v.Name, "-s", strconv.Itoa(v.speed()), "-p", strconv.Itoa(v.pitch())}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%q\x00%s", version, args, text)
	dir := cacheDir()
	path := filepath.Join(dir, hex.EncodeToString(h.Sum(nil))[:32]+".wav")

	rate, pcm, err := readWAV(path)
	if err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("dtmfgen: speech cache: %w", err)
		}
		f, err := os.CreateTemp(dir, ".espeak-*.wav")
		if err != nil {
			return nil, fmt.Errorf("dtmfgen: speech cache: %w", err)
		}
		tmp := f.Name()
		_ = f.Close()
		cmd := exec.CommandContext(ctx, "espeak-ng", append(args, "-w", tmp, "--stdin")...)
		cmd.Stdin = strings.NewReader(text)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			_ = os.Remove(tmp)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("dtmfgen: speak: %w", ctx.Err())
			}
			return nil, fmt.Errorf("dtmfgen: espeak-ng %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		rate, pcm, err = readWAV(tmp)
		if err != nil {
			_ = os.Remove(tmp)
			return nil, fmt.Errorf("dtmfgen: espeak-ng %s wrote no usable WAV: %w", strings.Join(args, " "), err)
		}
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(tmp)
		}
	}
	x := make([]float64, len(pcm))
	for i, s := range pcm {
		x[i] = float64(s)
	}
	y := resample(x, rate, SampleRate)
	highpass(y, 200)
	return trimSilence(y), nil
}

// trimSilence cuts leading and trailing samples more than 50 dB under the
// peak, keeping 10 ms on each side.
func trimSilence(x []float64) []float64 {
	var peak float64
	for _, v := range x {
		peak = max(peak, v, -v)
	}
	th := peak * 0.003
	first, last := -1, -1
	for i, v := range x {
		if v > th || v < -th {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	first = max(0, first-80)
	last = min(len(x), last+81)
	return x[first:last]
}

// sentence makes a random sentence of 3-9 words in the voice's language.
func sentence(r *rand.Rand, lang string) string {
	words, ok := wordLists[lang]
	if !ok {
		if i := strings.IndexByte(lang, '-'); i > 0 {
			words, ok = wordLists[lang[:i]]
		}
	}
	if !ok {
		words = wordLists["en"]
	}
	n := 3 + r.IntN(7)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if r.IntN(9) == 0 {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(pick(r, words))
	}
	b.WriteString(pick(r, []string{".", ".", ".", "?", "!"}))
	return b.String()
}

// wordLists are small vocabularies per language: call-centre words, digits
// (talk-off material), fillers and long vowels.
var wordLists = map[string][]string{
	"en": strings.Fields(`yes no okay right sure hello hi thanks thank you please sorry
		card number payment account balance bill address postcode street road
		one two three four five six seven eight nine zero oh double triple
		hundred thousand twenty thirty forty fifty sixty seventy eighty ninety
		the a my your our this that it is was will can could would should have had
		just wait moment hold line again repeat slowly typing keypad phone press
		um uh hmm ah er well so actually basically really quite very
		Monday Tuesday Friday morning evening tomorrow yesterday today week month
		name surname spell letter expiry date security code back front
		wonderful beautiful lovely terrible annoying simple easy difficult
		ooh aah mmm whee eee ohh yeah nope alright brilliant fine great
		calling about order delivery refund cancel change update confirm`),
	"de": strings.Fields(`ja nein bitte danke hallo genau gut richtig falsch
		Karte Nummer Zahlung Konto Rechnung Adresse Strasse Postleitzahl
		eins zwei drei vier fünf sechs sieben acht neun null hundert tausend
		der die das ein eine mein meine ist war wird kann habe hatte
		moment warten nochmal langsam Taste Telefon drücken also äh ähm hmm
		Montag Freitag morgen heute gestern Woche Monat Name Ablaufdatum`),
	"fr": strings.Fields(`oui non merci bonjour pardon bien sûr voilà alors
		carte numéro paiement compte facture adresse rue code postal
		un deux trois quatre cinq six sept huit neuf zéro cent mille
		le la les mon ma est était sera peut avoir attendez encore lentement
		touche téléphone appuyer euh hein bon lundi vendredi demain aujourd'hui`),
	"es": strings.Fields(`sí no gracias hola perdón claro bueno vale entonces
		tarjeta número pago cuenta factura dirección calle código postal
		uno dos tres cuatro cinco seis siete ocho nueve cero cien mil
		el la los mi es era será puede tengo espere otra vez despacio
		tecla teléfono pulsar eh pues lunes viernes mañana hoy semana`),
	"it": strings.Fields(`sì no grazie ciao pronto scusi certo bene allora
		carta numero pagamento conto fattura indirizzo via codice
		uno due tre quattro cinque sei sette otto nove zero cento mille
		il la mio mia è era sarà può ho aspetti ancora piano tasto telefono`),
	"nl": strings.Fields(`ja nee dank je hallo goed precies sorry even
		kaart nummer betaling rekening adres straat postcode
		een twee drie vier vijf zes zeven acht negen nul honderd duizend
		de het mijn is was wordt kan heb wacht nog eens langzaam toets telefoon`),
}

func pick[T any](r *rand.Rand, s []T) T {
	return s[r.IntN(len(s))]
}
