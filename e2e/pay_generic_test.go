package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/payment/gateway"
)

// processor is a card processor speaking the generic connector's protocol
// (payment/gateway/README.md) as its documentation tells a processor's
// developer to: it checks the request's signature over the raw body,
// refuses stale timestamps, and signs its answer.
type processor struct {
	secret []byte
	mu     sync.Mutex
	got    []map[string]any // the requests, parsed
	bad    int              // requests refused for their signature
}

func (p *processor) sign(ts string, body []byte) string {
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func (p *processor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Hushphone-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute ||
		!hmac.Equal([]byte(r.Header.Get("X-Hushphone-Signature")), []byte(p.sign(ts, body))) {
		p.mu.Lock()
		p.bad++
		p.mu.Unlock()
		http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.got = append(p.got, req)
	n := len(p.got)
	p.mu.Unlock()
	card, _ := req["card"].(map[string]any)
	number, _ := card["number"].(string)
	ans := fmt.Sprintf(`{"outcome":"approved","reference":"proc_%d","brand":"visa","last4":%q,"idempotency_key":%q}`,
		n, number[len(number)-4:], req["idempotency_key"])
	now := strconv.FormatInt(time.Now().Unix(), 10)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Hushphone-Timestamp", now)
	w.Header().Set("X-Hushphone-Signature", p.sign(now, []byte(ans)))
	_, _ = w.Write([]byte(ans))
}

// TestPayThroughGenericProcessor: the whole payment through the generic
// HTTPS connector to a processor on loopback TLS: the caller types the
// card in band, the processor gets it signed and approves with its own
// reference, which the agent and the audit get; nothing of the card stays
// on the server's side.
func TestPayThroughGenericProcessor(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	proc := &processor{secret: []byte("a-processor-secret-of-at-least-32-bytes")}
	ts := httptest.NewTLSServer(proc)
	t.Cleanup(ts.Close)
	g, err := gateway.NewGeneric(gateway.GenericConfig{URL: ts.URL + "/hushphone/pay", Secret: proc.secret, Client: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	const pan = "4242424242424242"
	sc := payScenario{keys: pan + "#" + testExpiry + "#" + testCVV + "#", amount: 1250, agent: submitWhenReady}
	run, srv, rec := runPay(t, sc, stacktest.WithGateway(g))
	p := run.finalStatus(t)
	if p.State != "approved" || p.Result == nil || p.Result.Reference != "proc_1" || p.Last4 != "4242" {
		t.Fatalf("final status %s", jsonOf(p))
	}
	if a := audit(t, srv); a.Gateway != "generic" || a.Reference != "proc_1" || a.Outcome != "approved" {
		t.Errorf("audit row %+v", a)
	}
	proc.mu.Lock()
	defer proc.mu.Unlock()
	if proc.bad != 0 || len(proc.got) != 1 {
		t.Fatalf("the processor refused %d and took %d requests", proc.bad, len(proc.got))
	}
	card, _ := proc.got[0]["card"].(map[string]any)
	if card["number"] != pan || card["expiry_month"] != "09" || card["expiry_year"] != "2031" || card["security_code"] != testCVV ||
		proc.got[0]["amount"] != float64(1250) || proc.got[0]["currency"] != "GBP" || proc.got[0]["idempotency_key"] != p.ID {
		t.Errorf("the processor got %v", proc.got[0])
	}
	searchCardData(t, run, srv, rec, pan, testExpiry, testCVV)
}
