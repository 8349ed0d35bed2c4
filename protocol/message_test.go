package protocol

import (
	"encoding/json"
	"testing"
	"time"
)

// TestWire: messages encode to the JSON clients have always been sent,
// byte for byte: field names, their order, and what is left out.
func TestWire(t *testing.T) {
	started := time.Date(2025, 6, 3, 14, 21, 7, 512_000_000, time.UTC)
	ended := started.Add(94 * time.Second)
	cases := []struct {
		m    Message
		want string
	}{
		{Message{Type: TypeHello, User: "ann", Role: RoleAgent}, `{"type":"hello","user":"ann","role":"agent"}`},
		{Message{Type: TypePresence, User: "ann", Status: string(AgentBusy)}, `{"type":"presence","user":"ann","status":"busy"}`},
		{Message{Type: TypeCallStarted, Call: "out-7c1e", From: "+441632960123", Outbound: true},
			`{"type":"call.started","call":"out-7c1e","from":"+441632960123","outbound":true}`},
		{Message{Type: TypeCallStarted, Call: "5f3a", From: "+441632960001", Rejoined: true}, `{"type":"call.started","call":"5f3a","from":"+441632960001","rejoined":true}`},
		{Message{Type: TypeCallEnded, Call: "5f3a", Reason: string(EndCallerGone)}, `{"type":"call.ended","call":"5f3a","reason":"caller_gone"}`},
		{Message{Type: TypeCallWithdrawn, Call: "5f3a", Reason: string(WithdrawTimeout)}, `{"type":"call.withdrawn","call":"5f3a","reason":"timeout"}`},
		{Message{Type: TypeCallProgress, Call: "out-7c1e", Status: string(ProgressRinging)}, `{"type":"call.progress","status":"ringing","call":"out-7c1e"}`},
		{Message{Type: TypeSDP, Call: "5f3a", Kind: KindAnswer, SDP: "v=0\r\n"}, `{"type":"sdp","call":"5f3a","kind":"answer","sdp":"v=0\r\n"}`},
		{Message{Type: TypeListenStarted, ID: "l1", Call: "5f3a"}, `{"type":"listen.started","id":"l1","call":"5f3a"}`},
		{Message{Type: TypeListenStarted, ID: "l2", Call: "5f3a", Mode: ModeWhisper}, `{"type":"listen.started","id":"l2","call":"5f3a","mode":"whisper"}`},
		{Message{Type: TypeSupervisor, Call: "5f3a", User: "sue", Mode: ModeBarge}, `{"type":"supervisor","user":"sue","call":"5f3a","mode":"barge"}`},
		{Message{Type: TypeSupervisor, Call: "5f3a", User: "sue"}, `{"type":"supervisor","user":"sue","call":"5f3a"}`},
		{Message{Type: TypeListenEnded, Call: "5f3a", Reason: string(ListenEndCallEnded)}, `{"type":"listen.ended","call":"5f3a","reason":"call_ended"}`},
		{Message{Type: TypeHold, ID: "h", Call: "5f3a", Status: string(HoldOn)}, `{"type":"hold","id":"h","status":"on","call":"5f3a"}`},
		{Message{Type: TypeError, ID: "x", Code: CodeBadRequest, Message: `"call" is needed`}, `{"type":"error","id":"x","code":"bad_request","message":"\"call\" is needed"}`},
		{Message{Type: TypeAgents, Agents: []AgentSnapshot{{User: "ann", Status: AgentAvailable, Since: started}}},
			`{"type":"agents","agents":[{"user":"ann","status":"available","since":"2025-06-03T14:21:07.512Z"}]}`},
		{Message{Type: TypeAgents, Agents: []AgentSnapshot{}}, `{"type":"agents","agents":[]}`},
		{Message{Type: TypeCalls, Calls: []CallSnapshot{{Call: "5f3a", State: CallHeld, Agent: "ann", Since: started, Arrived: started}}},
			`{"type":"calls","calls":[{"call":"5f3a","state":"held","agent":"ann","since":"2025-06-03T14:21:07.512Z","arrived":"2025-06-03T14:21:07.512Z"}]}`},
		{Message{Type: TypePayStart, ID: "p1", Call: "5f3a", Pay: &PayRequest{Amount: 4999, Currency: "GBP", Description: "Order A-4471 balance"}},
			`{"type":"pay.start","id":"p1","call":"5f3a","pay":{"amount":4999,"currency":"GBP","description":"Order A-4471 balance"}}`},
		{Message{Type: TypePayStart, Call: "5f3a", Pay: &PayRequest{Currency: "EUR", Method: MethodCard, Fields: []Field{FieldCardNumber}, Brands: []Brand{BrandVisa},
			Attempts: 2, FieldTimeout: 20, IdempotencyKey: "k"}},
			`{"type":"pay.start","call":"5f3a","pay":{"amount":0,"currency":"EUR","method":"card","fields":["card-number"],"brands":["visa"],"attempts":2,"fieldTimeout":20,"idempotencyKey":"k"}}`},
		{Message{Type: TypePayAsk, Session: "pay_1", Field: FieldExpiryDate}, `{"type":"pay.ask","session":"pay_1","field":"expiry-date"}`},
		{Message{Type: TypePayProgress, ID: "p1", Call: "5f3a", Session: "pay_3f9c", Payment: &Payment{ID: "pay_3f9c", Call: "5f3a", Agent: "ann", Seq: 1,
			State: PayCapturing, Amount: 4999, Currency: "GBP", Description: "Order A-4471 balance", Method: MethodCard, Gateway: "sandbox",
			Fields:  []PayField{{Field: FieldCardNumber, State: FieldCapturing, AttemptsLeft: 3}, {Field: FieldExpiryDate, State: FieldWaiting, AttemptsLeft: 3}},
			Current: FieldCardNumber, Started: started}},
			`{"type":"pay.progress","id":"p1","call":"5f3a","session":"pay_3f9c","payment":{"id":"pay_3f9c","call":"5f3a","agent":"ann","seq":1,"state":"capturing",` +
				`"amount":4999,"currency":"GBP","description":"Order A-4471 balance","method":"card","gateway":"sandbox",` +
				`"fields":[{"field":"card-number","state":"capturing","digits":0,"attemptsLeft":3},{"field":"expiry-date","state":"waiting","digits":0,"attemptsLeft":3}],` +
				`"current":"card-number","started":"2025-06-03T14:21:07.512Z"}}`},
		{Message{Type: TypePayProgress, Call: "5f3a", Session: "pay_3f9c", Payment: &Payment{ID: "pay_3f9c", Call: "5f3a", Agent: "ann", Seq: 27,
			State: PayApproved, Amount: 4999, Currency: "GBP", Method: MethodCard, Gateway: "sandbox", Brand: BrandVisa, Last4: "4242",
			Fields: []PayField{{Field: FieldCardNumber, State: FieldInvalid, Digits: 0, Reason: ReasonInvalidCardNumber, AttemptsLeft: 2}},
			Result: &PayResult{Outcome: OutcomeApproved, Reference: "sb_ch_7f3a"}, Started: started, Ended: &ended}},
			`{"type":"pay.progress","call":"5f3a","session":"pay_3f9c","payment":{"id":"pay_3f9c","call":"5f3a","agent":"ann","seq":27,"state":"approved",` +
				`"amount":4999,"currency":"GBP","method":"card","gateway":"sandbox",` +
				`"fields":[{"field":"card-number","state":"invalid","digits":0,"reason":"invalid-card-number","attemptsLeft":2}],` +
				`"brand":"visa","last4":"4242","result":{"outcome":"approved","reference":"sb_ch_7f3a"},"started":"2025-06-03T14:21:07.512Z","ended":"2025-06-03T14:22:41.512Z"}}`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.m.Type, b, tc.want)
		}
		var back Message
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(b) {
			t.Errorf("%s does not survive a round trip: %s", tc.m.Type, b2)
		}
	}
}

func TestPaymentFinal(t *testing.T) {
	for _, c := range []struct {
		s     PaymentState
		final bool
	}{
		{PayCapturing, false}, {PayReady, false}, {PaySubmitting, false}, {PayFailed, false},
		{PayApproved, true}, {PayDeclined, true}, {PayCancelled, true}, {PayDropped, true}, {PayTimedOut, true},
	} {
		p := Payment{State: c.s}
		if p.Final() != c.final || c.s.Final() != c.final {
			t.Errorf("%s: final %v, want %v", c.s, p.Final(), c.final)
		}
	}
}
