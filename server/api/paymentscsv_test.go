package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// TestPaymentsFilterAndCSV: the audit filtered by agent, outcome and
// date, and exported as CSV for a supervisor: the columns, the card's
// brand and last four only, a gateway's text that a spreadsheet would run
// defused, and an agent's export holding only the agent's own payments.
func TestPaymentsFilterAndCSV(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	day := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour)
	for i, p := range []store.Payment{
		{ID: "pay_a", CallID: "call-1", Agent: "ann", Amount: 4999, Currency: "GBP", Method: "card", Gateway: "sandbox", Started: day},
		{ID: "pay_b", CallID: "call-2", Agent: "ann", Amount: 1000, Currency: "GBP", Method: "card", Gateway: "sandbox", Started: day.Add(time.Hour)},
		{ID: "pay_c", CallID: "call-3", Agent: "sue", Amount: 250, Currency: "EUR", Method: "card", Gateway: "sandbox", Started: day.Add(30 * time.Hour)},
	} {
		if err := e.store.AddPayment(ctx, p); err != nil {
			t.Fatal(err)
		}
		end := []store.Payment{
			{ID: "pay_a", Brand: "visa", Last4: "4242", Outcome: "approved", Reference: "sb_ch_1", Ended: day.Add(time.Minute)},
			{ID: "pay_b", Brand: "mastercard", Last4: "4444", Outcome: "declined", Reason: "=HYPERLINK(\"http://x\")", Ended: day.Add(time.Hour + time.Minute)},
		}
		if i < len(end) {
			if err := e.store.FinishPayment(ctx, end[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	sue, ann := e.signIn("sue"), e.signIn("ann")
	ids := func(r reply) string {
		t.Helper()
		var out []string
		for _, line := range strings.Split(r.raw, `"id":"`)[1:] {
			out = append(out, line[:strings.IndexByte(line, '"')])
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ query, want string }{
		{"", "pay_c,pay_b,pay_a"},
		{"?agent=ANN", "pay_b,pay_a"},
		{"?outcome=approved", "pay_a"},
		{"?outcome=open", "pay_c"},
		{"?from=" + url.QueryEscape(day.Add(30*time.Minute).Format(time.RFC3339)) + "&to=" + url.QueryEscape(day.Add(2*time.Hour).Format(time.RFC3339)), "pay_b"},
	} {
		r := e.do("GET", "/api/v1/payments"+c.query, sue, "")
		if got := ids(r); r.status != http.StatusOK || got != c.want {
			t.Errorf("GET /api/v1/payments%s: %d %s, want %s", c.query, r.status, got, c.want)
		}
	}
	for _, bad := range []string{"?outcome=won", "?from=monday", "?format=xml", "?limit=0"} {
		if r := e.do("GET", "/api/v1/payments"+bad, sue, ""); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, r.status)
		}
	}

	read := func(tok, query string) [][]string {
		t.Helper()
		status, h, body := e.get("/api/v1/payments"+query, tok, "")
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "payments.csv") {
			t.Fatalf("CSV: %d %v", status, h)
		}
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	rows := read(sue, "?format=csv")
	if strings.Join(rows[0], ",") != "id,call,agent,started,ended,amount,currency,method,gateway,brand,last4,outcome,reason,reference" || len(rows) != 4 {
		t.Fatalf("CSV rows: %q", rows)
	}
	if got := strings.Join(rows[3], ","); !strings.HasPrefix(got, "pay_a,call-1,ann,") || !strings.HasSuffix(got, ",4999,GBP,card,sandbox,visa,4242,approved,,sb_ch_1") {
		t.Errorf("pay_a: %s", got)
	}
	if rows[2][12] != `'=HYPERLINK("http://x")` {
		t.Errorf("a formula from the gateway: %q, want it defused with a leading quote", rows[2][12])
	}
	if rows[1][11] != "open" || rows[1][4] != "" {
		t.Errorf("pay_c, under way: %q", rows[1])
	}
	if rows := read(ann, "?format=csv&agent=sue"); len(rows) != 1 {
		t.Errorf("ann's export asking for sue's: %q, want the header alone", rows)
	}
}
