package protocol_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/protocol/internal/tsgen"
)

// tsFile is the UI's copy of the protocol, generated from this package.
const tsFile = "../frontend/src/protocol.ts"

// TestTypeScriptIsCurrent: the committed TypeScript is what the generator
// makes of the package now. It fails on any change to a message, a field,
// a constant or a doc comment until `go generate ./protocol` is run.
func TestTypeScriptIsCurrent(t *testing.T) {
	want, err := tsgen.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(tsFile)
	if err != nil {
		t.Fatalf("%v: run `go generate ./protocol`", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s is stale: run `go generate ./protocol`\nline %d is\n\t%s\nbut would be\n\t%s", tsFile, i+1, g, w)
		}
	}
}
