package trunk

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// sipgo logs what it cannot parse with the raw message as a "data"
// attribute, at error level. What comes in on a SIP port may be anything,
// a SIP INFO carrying a key press included, so none of it may reach the
// logs: siplog is the handler sipgo logs through. It drops every "data"
// attribute, masks runs of four or more digits in the rest (error texts
// quote what they choke on), and logs parse failures at info level, since
// junk from the network is not the server's error.
//
// sipgo's default logger is one variable, read by its goroutines without a
// lock, so it is set once per process (routeSIPLogs); each Trunk made
// after points it at its own logger's handler (the latest Trunk's wins).
type siplog struct {
	attrs []slog.Attr
}

var (
	sipTarget atomic.Pointer[slog.Handler]
	sipOnce   sync.Once
	digitRun  = regexp.MustCompile(`[0-9]{4,}`)
)

// routeSIPLogs sends sipgo's logs, cleaned, to h.
func routeSIPLogs(h slog.Handler) {
	sipTarget.Store(&h)
	sipOnce.Do(func() { sip.SetDefaultLogger(slog.New(siplog{})) })
}

func target() slog.Handler {
	if h := sipTarget.Load(); h != nil {
		return *h
	}
	return slog.DiscardHandler
}

func (s siplog) Enabled(ctx context.Context, l slog.Level) bool {
	return target().Enabled(ctx, min(l, slog.LevelInfo))
}

func (s siplog) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if r.Message == "failed to parse" {
		level = slog.LevelInfo
	}
	h := target()
	if !h.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, "sip: "+r.Message, r.PC)
	out.AddAttrs(s.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "data" {
			out.AddAttrs(slog.Int("bytes", len(a.Value.String())))
			return true
		}
		out.AddAttrs(clean(a))
		return true
	})
	return h.Handle(ctx, out) //nolint:wrapcheck // a handler passing a record on
}

func clean(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, digitRun.ReplaceAllString(a.Value.String(), "####"))
	case slog.KindGroup:
		g := a.Value.Group()
		out := make([]any, 0, len(g))
		for _, b := range g {
			out = append(out, clean(b))
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, digitRun.ReplaceAllString(err.Error(), "####"))
		}
		return slog.String(a.Key, digitRun.ReplaceAllString(a.Value.String(), "####"))
	default:
		return a
	}
}

func (s siplog) WithAttrs(as []slog.Attr) slog.Handler {
	attrs := append([]slog.Attr(nil), s.attrs...)
	for _, a := range as {
		if a.Key != "data" {
			attrs = append(attrs, clean(a))
		}
	}
	return siplog{attrs: attrs}
}

// WithGroup keeps sipgo's attributes flat: it uses no groups that matter.
func (s siplog) WithGroup(string) slog.Handler { return s }
