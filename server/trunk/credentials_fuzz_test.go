package trunk

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// credentialsError is every text ReadCredentials may refuse a file's
// content with, PATH standing for the file's name: the line's number and
// its count of fields, never a word of the line.
var credentialsError = regexp.MustCompile(`^trunk: credentials: PATH(:[0-9]+: (want 'in\|out REALM USER PASSWORD' \([0-9]+ fields\)|an inbound credential needs a realm)|: bufio.Scanner: token too long)$`)

// FuzzReadCredentials feeds ReadCredentials any file. It never panics; a
// refusal wraps ErrAuth and is one of its fixed texts (naming the line,
// never a realm, user or password); the credentials it reads have no
// empty or spaced part, an inbound one never the realm "*"; and they
// round-trip: written back one a line, they read back the same.
func FuzzReadCredentials(f *testing.F) {
	for _, s := range []string{
		"in example.org trunk s3cret\nout * us 0th3r\n",
		"# comment\n\n  in   r u p  \r\nout r2 u2 p2 # not a comment\n",
		"in * u p\n",
		"in r u\n",
		"sideways r u 4242424242424242\n",
		"in r u p\x00\nout\tr\tu\tp\n",
		"out \u00a0 u p\n",
		strings.Repeat("x", 70000) + "\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "trunk-auth")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		in, out, err := ReadCredentials(path)
		if err != nil {
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("%v: not ErrAuth", err)
			}
			if msg := strings.ReplaceAll(err.Error(), path, "PATH"); !credentialsError.MatchString(msg) {
				t.Fatalf("unexpected error text %q", msg)
			}
			return
		}
		var b strings.Builder
		for i, c := range slices.Concat(in, out) {
			if c.Realm == "" || c.User == "" || c.Password == "" ||
				strings.ContainsFunc(c.Realm, isSpace) || strings.ContainsFunc(c.User, isSpace) || strings.ContainsFunc(c.Password, isSpace) {
				t.Fatalf("credential %d %q %q %q has an empty or spaced part", i, c.Realm, c.User, c.Password)
			}
			dir := "out"
			if i < len(in) {
				dir = "in"
				if c.Realm == "*" {
					t.Fatalf("an inbound credential for any realm")
				}
			}
			b.WriteString(dir + " " + c.Realm + " " + c.User + " " + c.Password + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		in2, out2, err := ReadCredentials(path)
		if err != nil || !slices.Equal(in, in2) || !slices.Equal(out, out2) {
			t.Fatalf("written back and read again: %v %v %v, want %v %v", in2, out2, err, in, out)
		}
	})
}

// isSpace is strings.Fields' idea of a space.
func isSpace(r rune) bool { return len(strings.Fields("a"+string(r)+"a")) == 2 }
