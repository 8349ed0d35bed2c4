package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"

	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/store"
)

// openAPIFile is the API's description, which these tests hold to the
// router so that neither drifts from the other.
const openAPIFile = "../../docs/openapi.yaml"

// documentedOnly are the operations server/node serves beside the API
// router (the WebSocket on the API's listener, /metrics on a listener of
// its own): documented, but not in the router.
var documentedOnly = map[string]bool{
	"GET /metrics":   true,
	"GET /api/v1/ws": true,
}

var (
	httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	statusKey   = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	pathParam   = regexp.MustCompile(`\{([^}/]+)\}`)
	// cardLike is 12 or more digits in a row, together or split by
	// spaces or dashes: what a card number looks like.
	cardLike = regexp.MustCompile(`[0-9](?:[ -]?[0-9]){11,}`)
)

// spec is the parsed file.
type spec struct {
	raw  []byte
	root *yaml.Node // the document's top mapping
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("%s: not one YAML mapping", openAPIFile)
	}
	return spec{raw: raw, root: doc.Content[0]}
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// pairs returns mapping n's keys and values in order.
func pairs(n *yaml.Node) (keys []string, vals []*yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
		vals = append(vals, n.Content[i+1])
	}
	return keys, vals
}

// pointer resolves a local JSON pointer ("#/a/b~1c") in the document.
func (s spec) pointer(ref string) *yaml.Node {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	n := s.root
	for tok := range strings.SplitSeq(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.Kind {
		case yaml.MappingNode:
			n = get(n, tok)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// deref follows n's $ref, if it has one.
func (s spec) deref(n *yaml.Node) *yaml.Node {
	for range 10 {
		ref := get(n, "$ref")
		if ref == nil {
			return n
		}
		n = s.pointer(ref.Value)
	}
	return nil
}

// operation is one method on one path.
type operation struct {
	method, path string // "GET", "/api/v1/me"
	item, op     *yaml.Node
}

func (o operation) key() string { return o.method + " " + o.path }

func (s spec) operations(t *testing.T) []operation {
	t.Helper()
	paths := get(s.root, "paths")
	keys, items := pairs(paths)
	if len(keys) == 0 {
		t.Fatal("no paths")
	}
	var ops []operation
	for i, p := range keys {
		ks, vs := pairs(items[i])
		for j, k := range ks {
			if slices.Contains(httpMethods, k) {
				ops = append(ops, operation{method: strings.ToUpper(k), path: p, item: items[i], op: vs[j]})
			}
		}
	}
	return ops
}

// TestOpenAPIFile checks the file's basics: OpenAPI 3.1, every operation
// with an operationId, responses, roles and its path's parameters, every
// $ref resolving within the file, and nothing that looks like card data.
func TestOpenAPIFile(t *testing.T) {
	s := loadSpec(t)
	if v := get(s.root, "openapi"); v == nil || !regexp.MustCompile(`^3\.1\.[0-9]+$`).MatchString(v.Value) {
		t.Errorf("openapi: want 3.1.x, have %v", v)
	}
	info := get(s.root, "info")
	for _, k := range []string{"title", "version", "description"} {
		if v := get(info, k); v == nil || v.Value == "" {
			t.Errorf("info.%s is missing", k)
		}
	}
	schemes := get(get(s.root, "components"), "securitySchemes")
	if b := get(schemes, "bearer"); get(b, "type") == nil || get(b, "type").Value != "http" || get(b, "scheme").Value != "bearer" {
		t.Error("components.securitySchemes.bearer must be type http, scheme bearer")
	}
	checkSecurity := func(where string, sec *yaml.Node) {
		if sec == nil {
			return
		}
		for _, req := range sec.Content {
			names, _ := pairs(req)
			for _, n := range names {
				if get(schemes, n) == nil {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", where, n)
				}
			}
		}
	}
	checkSecurity("security", get(s.root, "security"))

	ids := map[string]string{}
	for _, o := range s.operations(t) {
		id := get(o.op, "operationId")
		switch {
		case id == nil || id.Value == "":
			t.Errorf("%s: no operationId", o.key())
		case ids[id.Value] != "":
			t.Errorf("%s: operationId %q is also %s's", o.key(), id.Value, ids[id.Value])
		default:
			ids[id.Value] = o.key()
		}
		codes, resps := pairs(get(o.op, "responses"))
		if len(codes) == 0 {
			t.Errorf("%s: no responses", o.key())
		}
		for i, c := range codes {
			if !statusKey.MatchString(c) {
				t.Errorf("%s: response %q is not a status code", o.key(), c)
			}
			if r := s.deref(resps[i]); r == nil || get(r, "description") == nil {
				t.Errorf("%s: response %s has no description", o.key(), c)
			}
		}
		roles := get(o.op, "x-roles")
		if roles == nil || len(roles.Content) == 0 {
			t.Errorf("%s: no x-roles (who may call it)", o.key())
		} else {
			for _, r := range roles.Content {
				if !slices.Contains([]string{"anyone", "agent", "supervisor", "admin"}, r.Value) {
					t.Errorf("%s: x-roles: unknown role %q", o.key(), r.Value)
				}
			}
		}
		checkSecurity(o.key(), get(o.op, "security"))
		// Every {param} in the path is a path parameter of the operation
		// or its path item.
		declared := map[string]bool{}
		for _, list := range []*yaml.Node{get(o.item, "parameters"), get(o.op, "parameters")} {
			if list == nil {
				continue
			}
			for _, p := range list.Content {
				if p = s.deref(p); get(p, "in") != nil && get(p, "in").Value == "path" {
					declared[get(p, "name").Value] = true
				}
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", o.key(), m[1])
			}
			delete(declared, m[1])
		}
		for name := range declared {
			t.Errorf("%s: path parameter %q is not in the path", o.key(), name)
		}
	}

	// Every $ref is local and resolves.
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			if ref := get(n, "$ref"); ref != nil {
				if s.pointer(ref.Value) == nil {
					t.Errorf("line %d: $ref %q does not resolve within the file", ref.Line, ref.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(s.root)

	// No card numbers, not even test ones: no run of 12 or more digits,
	// together or split by spaces or dashes.
	for _, loc := range cardLike.FindAllIndex(s.raw, -1) {
		line := 1 + strings.Count(string(s.raw[:loc[0]]), "\n")
		digits := len(regexp.MustCompile(`[0-9]`).FindAll(s.raw[loc[0]:loc[1]], -1))
		t.Errorf("line %d: %d digits in a row: no card numbers in the file, not even in examples", line, digits)
	}
}

// routerOperations are "METHOD /path" for every route the API's router
// serves.
func routerOperations(t *testing.T, h http.Handler) map[string]bool {
	t.Helper()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("Handler() is a %T, not a chi router", h)
	}
	out := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		out[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPIMatchesRouter checks the file against the real router: every
// route it serves is documented with its method, and every documented
// operation is served (but those server/node's mux serves beside it).
func TestOpenAPIMatchesRouter(t *testing.T) {
	s := loadSpec(t)
	srv, _ := newOpenAPIServer(t)
	served := routerOperations(t, srv.Handler())
	if len(served) < 5 {
		t.Fatalf("chi.Walk found only %v", served)
	}
	t.Logf("the router serves %d operations: %s", len(served), strings.Join(sorted(served), ", "))
	documented := map[string]bool{}
	for _, o := range s.operations(t) {
		documented[o.key()] = true
	}
	for _, op := range sorted(served) {
		if !documented[op] {
			t.Errorf("the router serves %s, which docs/openapi.yaml does not document", op)
		}
	}
	for _, op := range sorted(documented) {
		switch {
		case documentedOnly[op]:
			if served[op] {
				t.Errorf("%s is now in the API router: take it out of documentedOnly", op)
			}
		case !served[op]:
			t.Errorf("docs/openapi.yaml documents %s, which the router does not serve", op)
		}
	}
	for op := range documentedOnly {
		if !documented[op] {
			t.Errorf("%s (served by server/node) is not documented", op)
		}
	}
	// The operations documented but not in the router are served by
	// server/node: the WebSocket by the API's mux, /metrics by the metrics
	// listener's, and not by the API's.
	serve, err := os.ReadFile("../node/node.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{`metricsMux.Handle("GET /metrics"`, "\tmux.Handle(\"/api/v1/ws\""} {
		if !strings.Contains(string(serve), pattern) {
			t.Errorf("server/node/node.go no longer has %s: check docs/openapi.yaml and documentedOnly", pattern)
		}
	}
	if strings.Contains(string(serve), "\tmux.Handle(\"GET /metrics\"") {
		t.Error("server/node/node.go serves /metrics on the API's mux: it belongs on the metrics listener")
	}
	// /metrics is documented on the metrics listener's default address,
	// not the API's.
	servers := get(get(get(s.root, "paths"), "/metrics"), "servers")
	if want := "http://" + config.Defaults().Metrics; servers == nil || len(servers.Content) == 0 || get(servers.Content[0], "url").Value != want {
		t.Errorf("/metrics: its servers should name the metrics listener, %s", want)
	}
}

// TestOpenAPIRoles checks each served operation's security and x-roles
// against what the router does: without a token an operation that needs
// one answers 401 (and one that does not never does), a role the file
// does not list gets 403, and a role it lists does not.
func TestOpenAPIRoles(t *testing.T) {
	s := loadSpec(t)
	srv, st := newOpenAPIServer(t)
	ctx := context.Background()
	users := map[store.Role]store.User{}
	hash, err := cheap.Hash("not-used")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range store.Roles {
		u, err := st.AddUser(ctx, "u-"+string(role), role, hash)
		if err != nil {
			t.Fatal(err)
		}
		users[role] = u
	}
	topSecured := len(get(s.root, "security").Content) > 0
	for _, o := range s.operations(t) {
		if documentedOnly[o.key()] {
			continue
		}
		target := o.path
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			target = strings.Replace(target, m[0], s.paramExample(t, o, m[1]), 1)
		}
		do := func(token string) int {
			req := httptest.NewRequestWithContext(ctx, o.method, target, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, req)
			return w.Code
		}
		secured := topSecured
		if sec := get(o.op, "security"); sec != nil {
			secured = len(sec.Content) > 0
		}
		if code := do(""); secured != (code == http.StatusUnauthorized) {
			t.Errorf("%s without a token: %d (the file says a token is %s)", o.key(), code, map[bool]string{true: "needed", false: "not needed"}[secured])
		}
		var listed []string
		for _, r := range get(o.op, "x-roles").Content {
			listed = append(listed, r.Value)
		}
		if !secured {
			if !slices.Equal(listed, []string{"anyone"}) {
				t.Errorf("%s needs no token: x-roles should be [anyone], not %v", o.key(), listed)
			}
			continue
		}
		for _, role := range store.Roles {
			token, th, err := auth.NewToken()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateSession(ctx, users[role].ID, th, time.Hour); err != nil {
				t.Fatal(err)
			}
			code := do(token)
			if allowed := slices.Contains(listed, string(role)); allowed == (code == http.StatusForbidden) || code == http.StatusUnauthorized {
				t.Errorf("%s as %s: %d, but x-roles is %v", o.key(), role, code, listed)
			}
		}
	}
}

// paramExample is the example of operation o's path parameter name.
func (s spec) paramExample(t *testing.T, o operation, name string) string {
	t.Helper()
	for _, list := range []*yaml.Node{get(o.op, "parameters"), get(o.item, "parameters")} {
		if list == nil {
			continue
		}
		for _, p := range list.Content {
			p = s.deref(p)
			if get(p, "name").Value != name || get(p, "in").Value != "path" {
				continue
			}
			if ex := get(p, "example"); ex != nil {
				return url.PathEscape(ex.Value)
			}
		}
	}
	t.Fatalf("%s: path parameter %q has no example", o.key(), name)
	return ""
}

// newOpenAPIServer is the API over a real store in a temp dir, with no
// payments (those endpoints answer 503 after the role checks).
func newOpenAPIServer(t *testing.T) (*Server, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv, err := New(Params{Store: st, Hash: cheap})
	if err != nil {
		t.Fatal(err)
	}
	return srv, st
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
