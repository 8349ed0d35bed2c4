//go:build cgo

package proof

/*
#cgo pkg-config: spandsp
#include <stdint.h>
#include <stdlib.h>
#include <spandsp.h>
#include <spandsp/version.h>

// The release date spandsp's own header declares, read when this package is
// built: the library carries no version number of its own (version.h has
// only this), so the package's version comes from pkg-config through
// go generate (version.go) and this says which release was compiled in.
static const char *hp_release(void) { return SPANDSP_RELEASE_DATETIME_STRING; }

// hp_rx is one channel's detector. The callback keeps a count and nothing
// else: the digits spandsp reports never leave this file, so no Go memory,
// log or error can ever hold one.
typedef struct {
	dtmf_rx_state_t *rx;
	int reported;
} hp_rx;

static void hp_on_digits(void *user, const char *digits, int len) {
	(void)digits;
	((hp_rx *)user)->reported += len;
}

static hp_rx *hp_rx_new(void) {
	hp_rx *r = calloc(1, sizeof *r);
	if (r == NULL) return NULL;
	// spandsp's defaults, as build/spandsp/dtmfrx.c uses them: default
	// twist, reverse twist and threshold, no dial-tone filter.
	r->rx = dtmf_rx_init(NULL, hp_on_digits, r);
	if (r->rx == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

// hp_rx_feed feeds one frame and returns how many digits spandsp reported
// during it.
static int hp_rx_feed(hp_rx *r, const int16_t *x, int n) {
	r->reported = 0;
	dtmf_rx(r->rx, x, n);
	return r->reported;
}

static void hp_rx_free(hp_rx *r) {
	dtmf_rx_free(r->rx);
	free(r);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Available: this build has spandsp's detector.
const Available = true

// DetectorVersion is spandsp's version when this package was generated
// (pkg-config --modversion spandsp, see version.go) and the release date the
// compiled header declares, e.g. "0.0.6 (release 20110122 075024)".
var DetectorVersion = modVersion + " (release " + C.GoString(C.hp_release()) + ")"

// errInit: spandsp could not allocate a detector.
var errInit = errors.New("proof: spandsp's dtmf_rx_init failed")

// rx is spandsp's dtmf_rx on one channel.
type rx struct{ p *C.hp_rx }

func newRx() (*rx, error) {
	p := C.hp_rx_new()
	if p == nil {
		return nil, errInit
	}
	return &rx{p: p}, nil
}

// feed runs the detector over one frame and returns how many digits it
// reported during it (the digits themselves stay in C).
func (r *rx) feed(x []int16) int {
	if len(x) == 0 {
		return 0
	}
	return int(C.hp_rx_feed(r.p, (*C.int16_t)(unsafe.Pointer(&x[0])), C.int(len(x))))
}

func (r *rx) close() {
	if r.p != nil {
		C.hp_rx_free(r.p)
		r.p = nil
	}
}
