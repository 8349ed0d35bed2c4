package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCallerNumber(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"+441632960123", "+441632960123"},
		{" +44 (0)1632 960-123 ", "+4401632960123"},
		{"01632.960123", "01632960123"},
		{"alice", "alice"},
		{"anonymous", "anonymous"},
		{"", ""},
		{"4242424242424242", "…4242"},    // a card number, Luhn-valid
		{"+4242424242424242", "…4242"},   // with a '+'
		{"4242 4242 4242 4242", "…4242"}, // spaced as on the card
		{"4000000000000002", "…0002"},
		{"12345678901234567", "…4567"}, // past E.164's 15 digits
		{"+441632960124", "+441632960124"},
		{"card4242424242424242x", "…4242"}, // a name with the number in it
		{"pin1234", "pin1234"},
		{strings.Repeat("é", 40), strings.Repeat("é", 32)},
		{"\xff\xfe", ""},
	} {
		if got := CallerNumber(c.in); got != c.want {
			t.Errorf("CallerNumber(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// 13 digits that fail the Luhn check are a phone number; that pass it,
	// a possible card number.
	if got := CallerNumber("4222222222222"); got != "…2222" {
		t.Errorf("a 13-digit Luhn-valid number (a Visa test card) kept as %q", got)
	}
	if got := CallerNumber("4222222222223"); got != "4222222222223" {
		t.Errorf("a 13-digit number failing Luhn kept as %q", got)
	}
}

// TestRecordingsByCaller: recordings are found by the caller's number in
// the forms a supervisor types it, and a caller ID that could be a card
// number reaches the database as its last four only.
func TestRecordingsByCaller(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i, c := range []struct{ call, caller string }{
		{"c1", "+441632960123"},
		{"c2", "alice"},
		{"c3", "4242424242424242"},
		{"c4", "+441632960999"},
		{"c5", ""},
	} {
		if err := s.CallOffered(ctx, LoggedCall{CallID: c.call, Queue: "default", Direction: DirectionIn, Offered: at, Caller: c.caller}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRecording(ctx, Recording{CallID: c.call, Agent: "ann", Started: at.Add(time.Duration(i) * time.Second),
			Path: filepath.Join("recordings", c.call+".wav")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddRecording(ctx, Recording{CallID: "unlogged", Agent: "ann", Started: at, Path: "recordings/u.wav"}); err != nil {
		t.Fatal(err)
	}
	find := func(caller string) string {
		t.Helper()
		recs, err := s.FindRecordings(ctx, RecordingFilter{Caller: caller})
		if err != nil {
			t.Fatalf("FindRecordings(%q): %v", caller, err)
		}
		var calls []string
		for _, r := range recs {
			calls = append(calls, r.CallID+"="+r.Caller)
		}
		return strings.Join(calls, " ")
	}
	for _, c := range []struct{ caller, want string }{
		{"+441632960123", "c1=+441632960123"},
		{"01632 960123", "c1=+441632960123"},
		{"960123", "c1=+441632960123"},
		{"ALICE", "c2=alice"},
		{"4242", "c3=…4242"},
		{"4242424242424242", ""}, // never searched for as a whole: it is not kept
		{"01632", ""},
		{"bob", ""},
		{"\xff", ""},
		{"", "c5= c4=+441632960999 c3=…4242 c2=alice unlogged= c1=+441632960123"},
	} {
		if got := find(c.caller); got != c.want {
			t.Errorf("caller %q: %q, want %q", c.caller, got, c.want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The database file itself: no run of the card number's digits.
	db, err := sql.Open("sqlite", filepath.Join(dir, "hushphone.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM call_log WHERE caller LIKE '%4242424%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("the call log holds the card number as a caller: %d rows, %v", n, err)
	}
}
