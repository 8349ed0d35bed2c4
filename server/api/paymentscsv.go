package api

// This file holds the payments audit's filters and its CSV export: brand
// and last four of the card, never more (the audit holds nothing else of
// it).

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/store"
)

// maxPaymentsCSV bounds one export.
const maxPaymentsCSV = 100000

// paymentOutcomes are the outcomes ?outcome= takes.
var paymentOutcomes = []string{string(gateway.Approved), string(gateway.Declined), string(gateway.Failed),
	store.PaymentCancelled, store.PaymentDropped, store.PaymentTimedOut, store.OutcomeOpen}

// paymentFilter reads GET /payments' query: call, agent, outcome, from,
// to (RFC 3339), limit, and format=csv (or Accept: text/csv). It answers
// 400 itself when something cannot be read.
func paymentFilter(w http.ResponseWriter, r *http.Request) (store.PaymentFilter, bool, bool) {
	q := r.URL.Query()
	csvOut := q.Get("format") == "csv" || strings.HasPrefix(r.Header.Get("Accept"), "text/csv")
	if v := q.Get("format"); v != "" && v != "csv" && v != "json" {
		writeError(w, http.StatusBadRequest, "format must be json or csv")
		return store.PaymentFilter{}, false, false
	}
	f := store.PaymentFilter{CallID: q.Get("call"), Agent: q.Get("agent"), Outcome: q.Get("outcome"), Limit: 100}
	if csvOut {
		f.Limit = maxPaymentsCSV
	}
	if !readLimit(w, r, &f.Limit, maxPaymentsCSV) {
		return store.PaymentFilter{}, false, false
	}
	if f.Outcome != "" && !slices.Contains(paymentOutcomes, f.Outcome) {
		writeError(w, http.StatusBadRequest, "outcome must be one of "+strings.Join(paymentOutcomes, ", "))
		return store.PaymentFilter{}, false, false
	}
	if !readPeriod(w, r, &f.From, &f.To) {
		return store.PaymentFilter{}, false, false
	}
	return f, csvOut, true
}

// exportObject says in the access log what an export held: its filter.
func exportObject(f store.PaymentFilter) string {
	var parts []string
	for _, p := range [][2]string{{"agent", f.Agent}, {"outcome", f.Outcome}} {
		if p[1] != "" {
			parts = append(parts, p[0]+"="+p[1])
		}
	}
	if f.CallID != "" {
		parts = append(parts, "one call")
	}
	for _, p := range []struct {
		name string
		t    time.Time
	}{{"from", f.From}, {"to", f.To}} {
		if !p.t.IsZero() {
			parts = append(parts, p.name+"="+p.t.UTC().Format(time.RFC3339))
		}
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

// paymentsCSVHeader are the export's columns.
var paymentsCSVHeader = []string{"id", "call", "agent", "started", "ended", "amount", "currency", "method", "gateway",
	"brand", "last4", "outcome", "reason", "reference"}

// paymentsCSV writes ps as CSV, newest first, as a download. A text a
// spreadsheet would run as a formula (starting with =, +, -, @, a tab or
// a carriage return) is prefixed with a quote: the agent's and the
// gateway's texts are not trusted.
func (s *Server) paymentsCSV(w http.ResponseWriter, ps []store.Payment) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="payments.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(paymentsCSVHeader)
	for _, p := range ps {
		ended := ""
		if !p.Ended.IsZero() {
			ended = p.Ended.UTC().Format(time.RFC3339Nano)
		}
		outcome := p.Outcome
		if outcome == "" {
			outcome = store.OutcomeOpen
		}
		row := []string{p.ID, p.CallID, p.Agent, p.Started.UTC().Format(time.RFC3339Nano), ended,
			strconv.FormatInt(p.Amount, 10), p.Currency, p.Method, p.Gateway, p.Brand, p.Last4, outcome, p.Reason, p.Reference}
		for i, v := range row {
			row[i] = csvSafe(v)
		}
		if err := cw.Write(row); err != nil {
			s.log.Warn("payments CSV: the client went away", "err", err)
			return
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.log.Warn("payments CSV: the client went away", "err", err)
	}
}

// csvSafe defuses a text a spreadsheet would take for a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
