package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/server/pay"
)

// decodeError is every error text decode may answer with: made of what
// the server knows (the limit, a byte offset, JSON's kinds, the request
// type's own fields), never of what the client sent.
var decodeError = regexp.MustCompile(`^(` +
	`request body too large: at most ` + strconv.Itoa(MaxBody) + ` bytes` +
	`|empty request body: send a JSON object` +
	`|malformed JSON: the body ends in the middle of the object` +
	`|malformed JSON at byte [0-9]+: (not valid JSON|invalid character( [a-z][a-z :'()\\-]*)?)` +
	`|malformed JSON: ("(?P<field>[A-Za-z]+)" must be|a field has the wrong kind of value: it must be) ` +
	`(a string|true or false|a whole number|a number|a list|an object|of another kind), not a (string|number|array|object|bool|value of another kind)` +
	`|malformed JSON: send one object and nothing after it` +
	`|malformed JSON: unknown field; (?P<list>.*)` +
	`|malformed JSON: the body could not be read as one JSON object` +
	`|send JSON with Content-Type: application/json` +
	`)$`)

// FuzzDecode feeds the API's JSON decoding any body and Content-Type, into
// the two requests attackers can send before and after signing in (the
// sign-in and a payment). It never panics; it takes a body exactly when
// the body is one JSON value of this request's fields within MaxBody,
// decoding what encoding/json decodes, and what it took round-trips; a
// refusal is 400, 413 or 415 with a JSON error that is one of decode's
// fixed texts (naming only the request's own fields).
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ ctype, body string }{
		{"application/json", `{"name":"ann","password":"ann-password"}`},
		{"", `{"amount":1250,"currency":"GBP","fields":["card-number","expiry-date"],"brands":["visa"],"attempts":2}`},
		{"application/json; charset=utf-8", `{"amount":4242424242424242424242,"currency":"GBP"}`},
		{"application/json", `{"amount":{"ZQX":1},"currency":"GBP"}`},
		{"application/json", `{"name":"ann","password":4242424242424242}`},
		{"application/json", `{"name":"ann","ZQXfield":1}`},
		{"application/json", `{"name":Z}`},
		{"application/json", "{\"name\":\"ann\x01ZQX\"}"},
		{"application/json", `{"name":"a","password":"b"} ZQX`},
		{"application/json", `{"name":"a"`},
		{"application/json", `null`},
		{"application/json", `[]`},
		{"application/json", ``},
		{"text/ZQXtype", `{}`},
		{"application/json", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`},
		{"application/json", `{"fields":[1,2],"brands":{"a":true}}`},
		{"application/json", `{"name":tru}`},
	} {
		f.Add(s.ctype, []byte(s.body), false)
		f.Add(s.ctype, []byte(s.body), true)
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte, payment bool) {
		var v, want any = &signInRequest{}, &signInRequest{}
		if payment {
			v, want = &pay.Request{}, &pay.Request{}
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/v1/session", bytes.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		ok := decode(w, r, v)
		ctOK := r.Header.Get("Content-Type") == "" || strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/json")
		strict := json.NewDecoder(bytes.NewReader(body))
		strict.DisallowUnknownFields()
		wantOK := ctOK && len(body) <= MaxBody && json.Unmarshal(body, want) == nil && strict.Decode(reflect.New(reflect.TypeOf(want).Elem()).Interface()) == nil
		if ok != wantOK {
			t.Fatalf("decode took it %v, encoding/json %v (%d %s)", ok, wantOK, w.Code, w.Body)
		}
		if ok {
			if w.Body.Len() != 0 {
				t.Fatalf("taken, but answered %d %s", w.Code, w.Body)
			}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("decoded %+v, encoding/json %+v", v, want)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
			if !decode(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(again)), back) || !reflect.DeepEqual(back, v) {
				t.Fatalf("%s did not read back as %+v", again, v)
			}
			return
		}
		switch w.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("refused with %d", w.Code)
		}
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("refused with Content-Type %q", w.Header().Get("Content-Type"))
		}
		var e map[string]string
		dec := json.NewDecoder(w.Body)
		if err := dec.Decode(&e); err != nil || len(e) != 1 || e["error"] == "" {
			t.Fatalf("the refusal is not one JSON error: %v %v", e, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			t.Fatal("more after the JSON error")
		}
		msg := e["error"]
		m := decodeError.FindStringSubmatch(msg)
		if m == nil {
			t.Fatalf("unexpected error text %q", msg)
		}
		if field := m[decodeError.SubexpIndex("field")]; field != "" && !slices.Contains(jsonFields(reflect.TypeOf(v)), field) {
			t.Fatalf("%q names %q, not one of the request's fields", msg, field)
		}
		if list := m[decodeError.SubexpIndex("list")]; list != "" && list != fieldList(v) {
			t.Fatalf("%q lists other than the request's fields", msg)
		}
	})
}
