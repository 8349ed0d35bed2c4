package trunk

import (
	"context"
	"log/slog"
	"regexp"
)

// sipgo logs what it cannot parse with the raw message as a "data"
// attribute, at error level. What comes in on a SIP port may be anything,
// a SIP INFO carrying a key press included, so none of it may reach the
// logs: siplog is the handler sipgo logs through. It drops every "data"
// attribute, masks runs of four or more digits in the rest (error texts
// quote what they choke on), and logs parse failures at info level, since
// junk from the network is not the server's error.
type siplog struct {
	h slog.Handler
}

var digitRun = regexp.MustCompile(`[0-9]{4,}`)

func (s siplog) Enabled(ctx context.Context, l slog.Level) bool {
	return s.h.Enabled(ctx, min(l, slog.LevelInfo))
}

func (s siplog) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if r.Message == "failed to parse" {
		level = slog.LevelInfo
	}
	out := slog.NewRecord(r.Time, level, "sip: "+r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "data" {
			out.AddAttrs(slog.Int("bytes", len(a.Value.String())))
			return true
		}
		out.AddAttrs(clean(a))
		return true
	})
	if !s.h.Enabled(ctx, level) {
		return nil
	}
	return s.h.Handle(ctx, out) //nolint:wrapcheck // a handler passing a record on
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
	cleaned := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		if a.Key != "data" {
			cleaned = append(cleaned, clean(a))
		}
	}
	return siplog{h: s.h.WithAttrs(cleaned)}
}

func (s siplog) WithGroup(name string) slog.Handler { return siplog{h: s.h.WithGroup(name)} }
