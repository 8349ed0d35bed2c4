package protocol_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/protocol/internal/tsgen"
)

// docsFile is the protocol's documentation.
const docsFile = "../docs/protocol.md"

var code = regexp.MustCompile("`([^`]+)`")

// table returns the rows of the first table under the heading (header and
// separator left out), each as its cells.
func table(t *testing.T, heading string) [][]string {
	t.Helper()
	f, err := os.Open(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	under, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !under:
			under = line == heading
		case strings.HasPrefix(line, "|"):
			in = true
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		case in:
			if len(rows) < 2 {
				t.Fatalf("%s: the table under %q has no rows", docsFile, heading)
			}
			return rows[2:]
		case strings.HasPrefix(line, "#"):
			t.Fatalf("%s: no table under %q", docsFile, heading)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !in || len(rows) < 2 {
		t.Fatalf("%s: no table under %q", docsFile, heading)
	}
	return rows[2:]
}

// words is what a cell names: its `code` spans, or its text if it has none.
func words(cell string) []string {
	var out []string
	for _, m := range code.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 && cell != "" {
		out = append(out, cell)
	}
	return out
}

// column is the set of what column i of a table names.
func column(t *testing.T, heading string, i int) []string {
	t.Helper()
	var out []string
	for _, r := range table(t, heading) {
		if i < len(r) {
			for _, w := range words(r[i]) {
				if !slices.Contains(out, w) {
					out = append(out, w)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// same reports, as test errors, what one list has and the other has not.
func same(t *testing.T, what string, docs, code []string) {
	t.Helper()
	for _, d := range docs {
		if !slices.Contains(code, d) {
			t.Errorf("%s: docs/protocol.md lists %s, which package protocol does not have", what, d)
		}
	}
	for _, c := range code {
		if !slices.Contains(docs, c) {
			t.Errorf("%s: package protocol has %s, which docs/protocol.md does not list", what, c)
		}
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if !slices.Contains(out, string(v)) {
			out = append(out, string(v))
		}
	}
	return out
}

func values(t *testing.T, typ string) []string {
	t.Helper()
	cs, err := tsgen.Constants(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs[typ]) == 0 {
		t.Fatalf("package protocol has no constants of type %s", typ)
	}
	var out []string
	for _, c := range cs[typ] {
		out = append(out, c.Value)
	}
	return out
}

// TestDocsListTheProtocol: the tables of docs/protocol.md (the messages
// each way, the error codes, the close codes and the reasons) list exactly
// what package protocol declares, no more and no less.
func TestDocsListTheProtocol(t *testing.T) {
	same(t, "client to server", column(t, "### Client to server", 0), strs(protocol.ClientTypes()))
	same(t, "server to client", column(t, "### Server to client", 0), strs(protocol.ServerTypes()))
	// Every type is sent by one side or the other.
	all := append(strs(protocol.ClientTypes()), strs(protocol.ServerTypes())...)
	for _, typ := range values(t, "Type") {
		if !slices.Contains(all, typ) {
			t.Errorf("the type %s is neither a client's nor the server's (protocol.ClientTypes, ServerTypes)", typ)
		}
	}
	same(t, "error codes", column(t, "### Error codes", 0), values(t, "ErrorCode"))
	same(t, "close codes", column(t, "## Closing", 0), values(t, "CloseCode"))

	// Reasons, with the message each goes in.
	var docs []string
	for _, r := range table(t, "### Reasons") {
		if len(r) < 2 {
			t.Fatalf("reasons: row %v", r)
		}
		for _, reason := range words(r[0]) {
			for _, msg := range words(r[1]) {
				docs = append(docs, msg+" "+reason)
			}
		}
	}
	var want []string
	for typ, msg := range map[string]protocol.Type{
		"EndReason": protocol.TypeCallEnded, "WithdrawReason": protocol.TypeCallWithdrawn, "ListenEndReason": protocol.TypeListenEnded,
	} {
		for _, v := range values(t, typ) {
			want = append(want, string(msg)+" "+v)
		}
	}
	same(t, "reasons", docs, want)
}
