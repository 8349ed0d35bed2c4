package signal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/payment/card"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/api"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
)

// annOnCall says ann is talking on call "call-on" (pay.Calls).
type annOnCall struct{}

func (annOnCall) Agent(id string) (route.AgentInfo, bool) {
	if id != "ann" {
		return route.AgentInfo{}, false
	}
	return route.AgentInfo{ID: id, Name: id, State: route.StateBusy, Call: "call-on"}, true
}

// payRefusal is every text a payment request is refused with (pay's
// check): the request's rules, naming only fields, methods and brands the
// server knows, never what the agent sent.
var payRefusal = regexp.MustCompile(`^bad request: (` +
	`"amount" is in minor units, 0 \(save the card\) to 10000000000` +
	`|"currency" is a three-letter ISO 4217 code such as GBP` +
	`|"description" is at most 200 characters` +
	`|"description" must not hold 7 or more digits, together or apart \(spaces, dashes or dots between them\): it could be card data` +
	`|"attempts" is 1 to 9 \(0: 3\)` +
	`|"fieldTimeout" is 1 to 300 seconds \(0: 30\)` +
	`|"idempotencyKey" is 1 to 100 of A-Z a-z 0-9 _ \. : -` +
	`|"idempotencyKey" must not hold 7 or more digits, together or apart \(with _ \. : or - between them\)` +
	`|"method" is card or bank` +
	`|unknown field: the fields are card-number, expiry-date, security-code, postal-code, routing-number and account-number` +
	`|the field (card-number|expiry-date|security-code|postal-code|routing-number|account-number) is asked for twice` +
	`|the field (card-number|expiry-date|security-code|postal-code|routing-number|account-number) does not go with the method (card|bank)` +
	`|a card payment needs the "card-number" field` +
	`|a bank payment needs "routing-number" and "account-number"` +
	`|a card charge needs the "expiry-date" field` +
	`|unknown brand: the brands are visa, mastercard, amex, discover, diners, jcb, maestro and unionpay` +
	`)$`)

// payEnv is the API and the hub over one pay.Manager (the sandbox), ann
// signed in over HTTP and connected over the WebSocket.
type payEnv struct {
	url, token string
	ws         *websocket.Conn
	n          int // the WebSocket's message ids
}

func newPayEnv(f *testing.F) *payEnv {
	ctx := context.Background()
	st, err := store.Open(ctx, f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	h, err := cheap.Hash("ann-password")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "ann", store.RoleAgent, h); err != nil {
		f.Fatal(err)
	}
	m, err := pay.New(ctx, pay.Params{
		Gateway: gateway.NewSandbox(gateway.WithLatency(0)), Audit: st, Calls: annOnCall{},
		Notify: func(pay.Status) {}, Prompt: func(string, pay.Tone) {}, Tick: time.Hour,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	a, err := api.New(api.Params{Store: st, SessionTTL: time.Hour, Hash: cheap, Payments: m})
	if err != nil {
		f.Fatal(err)
	}
	router := route.New()
	f.Cleanup(func() { _ = router.Close() })
	hub, err := signal.New(signal.Params{Sessions: st, Router: router, Payments: m})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = hub.Close() })
	mux := http.NewServeMux()
	mux.Handle("/api/v1/ws", hub)
	mux.Handle("/", a.Handler())
	srv := httptest.NewServer(mux)
	f.Cleanup(srv.Close)

	e := &payEnv{url: srv.URL}
	code, body := e.do(ctx, "POST", "/api/v1/session", []byte(`{"name":"ann","password":"ann-password"}`))
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); code != http.StatusCreated && code != http.StatusOK || err != nil || tok.Token == "" {
		f.Fatalf("sign in: %d %s", code, body)
	}
	e.token = tok.Token
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.token}}})
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		f.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	f.Cleanup(func() { _ = ws.CloseNow() })
	e.ws = ws
	return e
}

// do sends an HTTP request as ann and returns the status and body.
func (e *payEnv) do(ctx context.Context, method, path string, body []byte) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer func() { _ = res.Body.Close() }()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, b.Bytes()
}

// call sends m over the WebSocket with a fresh id and returns the reply to
// it (skipping the hub's other messages).
func (e *payEnv) call(t *testing.T, m protocol.Message) protocol.Message {
	t.Helper()
	e.n++
	m.ID = "q" + strings.Repeat("x", e.n%3) + string(rune('a'+e.n%26))
	id := m.ID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := e.ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var got protocol.Message
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("not JSON: %q", b)
		}
		if got.ID == id {
			return got
		}
	}
}

// FuzzPayRequest sends generated payment requests (any amount, currency,
// description, method, fields, brands, attempts, timeout and idempotency
// key) to both of the server's ways in: the HTTP API's POST
// /api/v1/calls/{call}/payments and the WebSocket's pay.start, each
// through its real decoding and pay's checks. Neither fails (no 5xx, no
// internal error); they agree on whether the request is taken and, when
// not, on why, in one of pay's fixed texts (never repeating what was
// sent); a session taken holds what was asked (with the defaults filled
// in), the same both ways, and its texts hold no 7 digits, together or
// apart. Each session taken is
// cancelled, so that the next run starts on a call without one.
func FuzzPayRequest(f *testing.F) {
	for _, s := range []struct {
		amount                                      int64
		currency, desc, key, method, fields, brands string
		attempts, timeout                           int
	}{
		{1250, "GBP", "Order 42", "order-42", "", "", "", 0, 0},
		{0, "usd", "save the card", "", "card", "card-number,expiry-date,postal-code", "visa,amex", 3, 60},
		{500, "EUR", "", "", "bank", "routing-number,account-number", "", 9, 300},
		{1, "GBP", "4242 4242 4242 4242", "", "", "", "", 0, 0},
		{1, "GBP", "call 0800-123-456", "", "", "", "", 0, 0},
		{1, "GBP", "", "4242-4242-4242", "", "", "", 0, 0},
		{1, "GBP", "", "ZQX key", "", "", "", 0, 0},
		{-1, "GBP", "", "", "", "", "", 0, 0},
		{10000000001, "GBP", "", "", "", "", "", 0, 0},
		{1, "ZQXcur", "", "", "", "", "", 0, 0},
		{1, "GBP", "", "", "ZQXmethod", "", "", 0, 0},
		{1, "GBP", "", "", "", "card-number,ZQXfield", "", 0, 0},
		{1, "GBP", "", "", "", "card-number,card-number", "", 0, 0},
		{1, "GBP", "", "", "card", "routing-number", "", 0, 0},
		{1, "GBP", "", "", "", "security-code", "", 0, 0},
		{1, "GBP", "", "", "", "card-number", "", 0, 0},
		{1, "GBP", "", "", "", "", "ZQXbrand", 0, 0},
		{1, "GBP", "", "", "", "", "", 10, 0},
		{1, "GBP", "", "", "", "", "", 0, 301},
		{1, "GBP", strings.Repeat("d", 201), "", "", "", "", 0, 0},
	} {
		f.Add(s.amount, s.currency, s.desc, s.key, s.method, s.fields, s.brands, s.attempts, s.timeout)
	}
	e := newPayEnv(f)
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	f.Fuzz(func(t *testing.T, amount int64, currency, desc, key, method, fields, brands string, attempts, timeout int) {
		req := pay.Request{Amount: amount, Currency: currency, Description: desc, IdempotencyKey: key,
			Method: protocol.PayMethod(method), Attempts: attempts, FieldTimeout: timeout}
		for _, f := range split(fields) {
			req.Fields = append(req.Fields, protocol.Field(f))
		}
		for _, b := range split(brands) {
			req.Brands = append(req.Brands, protocol.Brand(b))
		}
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		// What is sent is what JSON can carry: bytes that are not UTF-8
		// go as U+FFFD.
		req = pay.Request{}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		// The HTTP API.
		code, out := e.do(ctx, "POST", "/api/v1/calls/call-on/payments", body)
		var restSt pay.Status
		var restErr string
		switch code {
		case http.StatusCreated:
			if err := json.Unmarshal(out, &restSt); err != nil {
				t.Fatalf("201 %s: %v", out, err)
			}
			if c, b := e.do(ctx, "POST", "/api/v1/payments/"+restSt.ID+"/cancel", nil); c != http.StatusOK {
				t.Fatalf("cancel: %d %s", c, b)
			}
		case http.StatusBadRequest:
			var m map[string]string
			if err := json.Unmarshal(out, &m); err != nil || m["error"] == "" {
				t.Fatalf("400 %s: not a JSON error", out)
			}
			restErr = strings.TrimPrefix(m["error"], "pay: ")
		default:
			t.Fatalf("the HTTP API answered %d %s", code, out)
		}

		// The WebSocket.
		got := e.call(t, protocol.Message{Type: protocol.TypePayStart, Call: "call-on", Pay: &req})
		var wsSt pay.Status
		var wsErr string
		switch {
		case got.Type == protocol.TypePayProgress && got.Payment != nil:
			wsSt = *got.Payment
			if r := e.call(t, protocol.Message{Type: protocol.TypePayCancel, Session: wsSt.ID}); r.Type != protocol.TypePayProgress {
				t.Fatalf("cancel: %+v", r)
			}
		case got.Type == protocol.TypeError && got.Code == protocol.CodeBadRequest:
			wsErr = got.Message
		default:
			t.Fatalf("the WebSocket answered %+v", got)
		}

		if restErr != wsErr {
			t.Fatalf("refused over HTTP with %q, over the WebSocket with %q", restErr, wsErr)
		}
		if restErr != "" {
			if !payRefusal.MatchString(restErr) {
				t.Fatalf("unexpected refusal %q", restErr)
			}
			return
		}
		for _, st := range []pay.Status{restSt, wsSt} {
			wantMethod, wantFields := req.Method, req.Fields
			if wantMethod == "" {
				wantMethod = protocol.MethodCard
			}
			if len(wantFields) == 0 {
				wantFields = []protocol.Field{protocol.FieldCardNumber, protocol.FieldExpiryDate, protocol.FieldSecurityCode}
				if wantMethod == protocol.MethodBank {
					wantFields = []protocol.Field{protocol.FieldRoutingNumber, protocol.FieldAccountNumber}
				}
			}
			var gotFields []protocol.Field
			for _, f := range st.Fields {
				gotFields = append(gotFields, f.Field)
			}
			if st.Agent != "ann" || st.Call != "call-on" || st.Amount != req.Amount || st.Currency != strings.ToUpper(req.Currency) ||
				st.Description != req.Description || st.Method != wantMethod || !slices.Equal(gotFields, wantFields) ||
				st.State != protocol.PayCapturing {
				t.Fatalf("asked for %+v, got %+v", req, st)
			}
			if card.DigitRun(st.Description) >= pay.MaxDigits || card.DigitRun(req.IdempotencyKey) >= pay.MaxDigits {
				t.Fatalf("taken with 7 or more digits in its texts: %+v", req)
			}
		}
		if restSt.Amount != wsSt.Amount || restSt.Method != wsSt.Method || len(restSt.Fields) != len(wsSt.Fields) {
			t.Fatalf("over HTTP %+v, over the WebSocket %+v", restSt, wsSt)
		}
	})
}

// digitRuns finds runs of 4 or more digits; byteOffset, where a body's
// JSON broke.
var (
	digitRuns  = regexp.MustCompile(`[0-9]{4,}`)
	byteOffset = regexp.MustCompile(`at byte [0-9]+`)
)

// FuzzPayRaw sends any bytes as a payment request's body to both ways in:
// as the HTTP API's POST body, and as the "pay" of a WebSocket pay.start.
// Neither ever fails inside (no 5xx, no internal error), the HTTP API
// answers 201, 400 or 413, and no answer repeats a run of the input's
// digits (other than the numbers of pay's own texts, such as ISO 4217).
// A session either starts is cancelled before the next run.
func FuzzPayRaw(f *testing.F) {
	for _, s := range []string{
		`{"amount":1250,"currency":"GBP"}`,
		`{"amount":1250,"currency":"GBP","description":"4242 4242 4242 4242"}`,
		`{"amount":42424242424242424242,"currency":"GBP"}`,
		`{"amount":"4242424242424242","currency":"GBP"}`,
		`{"amount":1,"currency":"GBP","fields":[4242424242424242]}`,
		`{"amount":1,"currency":"GBP","brands":["4242424242"],"attempts":4242424242}`,
		`{"amount":1,"currency":"GBP","idempotencyKey":"42424242"}`,
		`{"amount":1,"currency":"GBP","x4242424242":1}`,
		`{"amount":1e400}`,
		`[4242424242424242]`,
		`4242424242424242`,
		`"4242424242424242"`,
		`null`,
		`{"amount":1,"currency":"GBP"} 42424242`,
		`{`,
	} {
		f.Add([]byte(s))
	}
	allowed := map[string]bool{strconv.Itoa(api.MaxBody): true} // "at most 8192 bytes"
	for _, n := range digitRuns.FindAllString(payRefusal.String(), -1) {
		allowed[n] = true
	}
	e := newPayEnv(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		inputRuns := digitRuns.FindAllString(string(raw), -1)
		echoes := func(answer string) string {
			answer = byteOffset.ReplaceAllString(answer, "") // where the JSON broke: the server's count
			for _, n := range digitRuns.FindAllString(answer, -1) {
				if allowed[n] {
					continue
				}
				for _, in := range inputRuns {
					if strings.Contains(in, n) || strings.Contains(n, in) {
						return n
					}
				}
			}
			return ""
		}
		ctx := context.Background()

		code, out := e.do(ctx, "POST", "/api/v1/calls/call-on/payments", raw)
		switch code {
		case http.StatusCreated:
			var st pay.Status
			if err := json.Unmarshal(out, &st); err != nil {
				t.Fatalf("201 %s: %v", out, err)
			}
			if c, b := e.do(ctx, "POST", "/api/v1/payments/"+st.ID+"/cancel", nil); c != http.StatusOK {
				t.Fatalf("cancel: %d %s", c, b)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var m map[string]string
			if err := json.Unmarshal(out, &m); err != nil || m["error"] == "" {
				t.Fatalf("%d %s: not a JSON error", code, out)
			}
			if n := echoes(m["error"]); n != "" {
				t.Fatalf("the HTTP API's error %q repeats the input's %s", m["error"], n)
			}
		default:
			t.Fatalf("the HTTP API answered %d %s", code, out)
		}

		// The WebSocket: the raw bytes as pay.start's "pay", then a ping
		// whose pong ends the replies to it.
		msg := append(append([]byte(`{"type":"pay.start","id":"raw","call":"call-on","pay":`), raw...), '}')
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for _, b := range [][]byte{msg, []byte(`{"type":"ping","id":"fence"}`)} {
			if err := e.ws.Write(wctx, websocket.MessageText, b); err != nil {
				t.Fatal(err)
			}
		}
		var started []string
		defer func() {
			for _, id := range started {
				if r := e.call(t, protocol.Message{Type: protocol.TypePayCancel, Session: id}); r.Type != protocol.TypePayProgress {
					t.Fatalf("cancel: %+v", r)
				}
			}
		}()
		for {
			_, b, err := e.ws.Read(wctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var got protocol.Message
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("not JSON: %q", b)
			}
			if got.Type == protocol.TypePong && got.ID == "fence" {
				return
			}
			switch got.Type {
			case protocol.TypeError:
				if got.Code == protocol.CodeInternal {
					t.Fatalf("an internal error: %+v", got)
				}
				if n := echoes(got.Message); n != "" {
					t.Fatalf("the WebSocket's error %q repeats the input's %s", got.Message, n)
				}
			case protocol.TypePayProgress:
				if got.Payment != nil && got.Payment.State == protocol.PayCapturing {
					started = append(started, got.Payment.ID)
				}
			}
		}
	})
}
