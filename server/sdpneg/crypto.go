package sdpneg

// This file holds SDES (RFC 4568): the a=crypto attributes that carry an
// SRTP stream's keys in the SDP of an RTP/SAVP offer and answer. Each
// side picks its own master key and salt for what it sends, and tells the
// other in its SDP; the keys are only as secret as the SIP that carries
// them, which is why they belong on SIP over TLS.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Suite is an SRTP crypto-suite, as SDES names it.
type Suite uint8

// The suites this server takes, each with pion/srtp's protection profile
// of the same name (server/trunk maps one to the other).
const (
	NoSuite Suite = iota
	// AESCM128HMACSHA180 is AES_CM_128_HMAC_SHA1_80 (RFC 4568 6.2.1), which
	// every SDES implementation has: our offers use it.
	AESCM128HMACSHA180
	AESCM128HMACSHA132 // AES_CM_128_HMAC_SHA1_32 (RFC 4568 6.2.2)
	AES256CMHMACSHA180 // AES_256_CM_HMAC_SHA1_80 (RFC 6188)
	AES256CMHMACSHA132 // AES_256_CM_HMAC_SHA1_32 (RFC 6188)
	AEADAES128GCM      // AEAD_AES_128_GCM (RFC 7714 12)
	AEADAES256GCM      // AEAD_AES_256_GCM (RFC 7714 12)
)

var suiteNames = [...]string{"", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32",
	"AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"}

// String is the suite's name in SDP.
func (s Suite) String() string {
	if int(s) < len(suiteNames) {
		return suiteNames[s]
	}
	return "suite" + strconv.Itoa(int(s))
}

// KeyLen is the length of the suite's master key and master salt together,
// as a=crypto's inline key holds them.
func (s Suite) KeyLen() int {
	switch s {
	case AESCM128HMACSHA180, AESCM128HMACSHA132:
		return 16 + 14
	case AES256CMHMACSHA180, AES256CMHMACSHA132:
		return 32 + 14
	case AEADAES128GCM:
		return 16 + 12
	case AEADAES256GCM:
		return 32 + 12
	}
	return 0
}

func suiteByName(name string) Suite {
	for i, n := range suiteNames {
		if i > 0 && n == name {
			return Suite(i)
		}
	}
	return NoSuite
}

// maxKeyLen is the longest master key and salt: AES_256_CM's.
const maxKeyLen = 32 + 14

// Key is SRTP key material: a master key followed by its master salt (an
// array, so that an Offer stays comparable). It never prints: whatever
// formats or logs it (fmt's verbs, slog, an Offer printed whole) gets
// "[key]" instead of its bytes.
type Key struct {
	b [maxKeyLen]byte
	n uint8
}

// NewKey is a Key holding b (at most 46 bytes; more are cut off).
func NewKey(b []byte) Key {
	var k Key
	k.n = uint8(copy(k.b[:], b))
	return k
}

// Bytes are (a copy of) the key's bytes: the master key, then the master
// salt.
func (k Key) Bytes() []byte { return k.b[:k.n] }

// Len is the key's length in bytes.
func (k Key) Len() int { return int(k.n) }

// String hides the key.
func (Key) String() string { return "[key]" }

// GoString hides the key from %#v too.
func (Key) GoString() string { return "[key]" }

// Format hides the key from every fmt verb (%x and %v included).
func (Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[key]")) }

// LogValue hides the key from slog.
func (Key) LogValue() slog.Value { return slog.StringValue("[key]") }

// Crypto is one a=crypto attribute (RFC 4568 9.1) that this server can
// use: one inline key, with no session parameter that would weaken the
// stream.
type Crypto struct {
	Tag   uint32 // 1 to 999999999; the answer names the offer's
	Suite Suite
	Key   Key // master key, then master salt: Suite.KeyLen bytes
	// MKI is the master key identifier the sender puts in each packet
	// (RFC 3711 3.1), MKILen bytes big-endian; MKILen 0 for none. Our own
	// keys have none.
	MKI    uint32
	MKILen uint8
}

// IsZero reports whether c holds no key.
func (c Crypto) IsZero() bool { return c.Suite == NoSuite || c.Key.n == 0 }

// MKIBytes is the MKI as it is in each packet; nil for none.
func (c Crypto) MKIBytes() []byte {
	if c.MKILen == 0 {
		return nil
	}
	b := make([]byte, c.MKILen)
	for i := range b {
		b[len(b)-1-i] = byte(c.MKI >> (8 * i))
	}
	return b
}

// attribute is c as an a=crypto value (our own keys: no lifetime, no MKI).
func (c Crypto) attribute() string {
	return strconv.FormatUint(uint64(c.Tag), 10) + " " + c.Suite.String() + " inline:" + base64.StdEncoding.EncodeToString(c.Key.Bytes())
}

// errCrypto is wrapped by why an a=crypto line was passed over.
var errCrypto = errors.New("a=crypto")

func cryptoErr(why string) error { return fmt.Errorf("%w: %s", errCrypto, why) }

// parseCrypto reads an a=crypto value: "TAG SUITE inline:KEY[|LIFETIME][|MKI:LEN] [PARAMS]".
// A line it cannot use (an unknown suite, several keys, a session
// parameter that turns encryption or authentication off, one it does not
// know) is an error: the caller passes over it for the offer's next.
func parseCrypto(v string) (Crypto, error) {
	var c Crypto
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, cryptoErr("too few fields")
	}
	tag, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil || tag == 0 || tag > 999999999 {
		return Crypto{}, cryptoErr("bad tag")
	}
	c.Tag = uint32(tag)
	if c.Suite = suiteByName(f[1]); c.Suite == NoSuite {
		return Crypto{}, cryptoErr("suite " + strconv.Quote(f[1]) + " not supported")
	}
	params, ok := strings.CutPrefix(f[2], "inline:")
	if !ok {
		return Crypto{}, cryptoErr("not an inline key")
	}
	if strings.Contains(params, ";") {
		return Crypto{}, cryptoErr("several keys")
	}
	parts := strings.Split(params, "|")
	if len(parts) > 3 {
		return Crypto{}, cryptoErr("bad key parameters")
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some leave the padding out.
		if key, err = base64.RawStdEncoding.DecodeString(parts[0]); err != nil {
			return Crypto{}, cryptoErr("key is not base64")
		}
	}
	if len(key) != c.Suite.KeyLen() {
		return Crypto{}, cryptoErr("key of " + strconv.Itoa(len(key)) + " bytes for " + c.Suite.String())
	}
	c.Key = NewKey(key)
	clear(key)
	for _, p := range parts[1:] {
		if val, length, isMKI := strings.Cut(p, ":"); isMKI {
			if c.MKI, c.MKILen, err = parseMKI(val, length); err != nil {
				return Crypto{}, err
			}
			continue
		}
		// The key's lifetime in packets: "2^31" or a number. Calls are far
		// shorter than any sensible lifetime, so it is only checked.
		n := strings.TrimPrefix(p, "2^")
		if _, err := strconv.ParseUint(n, 10, 64); err != nil {
			return Crypto{}, cryptoErr("bad lifetime")
		}
	}
	for _, p := range f[3:] {
		name, _, _ := strings.Cut(p, "=")
		switch {
		case name == "WSH", strings.HasPrefix(name, "-"):
			// A window size hint, or a parameter the offerer marked as
			// ignorable (RFC 4568 6.3.7): neither changes the keys' use.
		default:
			// UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP and UNAUTHENTICATED_SRTP
			// would weaken the stream; KDR and FEC_KEY ask for what
			// pion/srtp does not do; anything else is unknown.
			return Crypto{}, cryptoErr("session parameter " + strconv.Quote(name) + " not supported")
		}
	}
	return c, nil
}

// parseMKI reads an MKI "VALUE:LENGTH" (LENGTH bytes).
func parseMKI(val, length string) (uint32, uint8, error) {
	n, err := strconv.ParseUint(length, 10, 8)
	if err != nil || n == 0 || n > 4 {
		return 0, 0, cryptoErr("MKI length " + strconv.Quote(length) + " (1 to 4 bytes taken)")
	}
	v, err := strconv.ParseUint(val, 10, 32)
	if err != nil || n < 4 && v >= 1<<(8*n) {
		return 0, 0, cryptoErr("bad MKI value")
	}
	return uint32(v), uint8(n), nil
}
