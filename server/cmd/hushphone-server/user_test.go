package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/store"
)

// runWith runs the program in-process with stdin.
func runWith(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

func TestUserCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const pw = "s3cret-horse"
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		code    int
		out     string // substring of stdout
		errText string // substring of stderr
	}{
		{"add admin", pw + "\n", []string{"user", "add", "--name", "root", "--role", "admin", "--password-stdin", "--data", data}, 0, "added root (admin)", ""},
		{"add agent, CRLF", "ann-password\r\n", []string{"user", "add", "--name", "ann", "--role", "agent", "--password-stdin", "--data", data}, 0, "added ann (agent)", ""},
		{"add supervisor, no newline", "sue-password", []string{"user", "add", "--data", data, "--name", "sue", "--role", "supervisor", "--password-stdin"}, 0, "added sue", ""},
		{"duplicate", pw + "\n", []string{"user", "add", "--name", "ANN", "--role", "agent", "--password-stdin", "--data", data}, 1, "", "already exists"},
		{"bad role", pw, []string{"user", "add", "--name", "bo", "--role", "boss", "--password-stdin", "--data", data}, 2, "", `unknown role "boss": use agent, supervisor or admin`},
		{"no role", pw, []string{"user", "add", "--name", "bo", "--password-stdin", "--data", data}, 2, "", "--role is required"},
		{"no name", pw, []string{"user", "add", "--role", "agent", "--password-stdin", "--data", data}, 2, "", "--name is required"},
		{"bad name", pw, []string{"user", "add", "--name", "a b", "--role", "agent", "--password-stdin", "--data", data}, 2, "", "invalid user name"},
		{"no --password-stdin", pw, []string{"user", "add", "--name", "bo", "--role", "agent", "--data", data}, 2, "", "--password-stdin is required"},
		{"empty password", "\n", []string{"user", "add", "--name", "bo", "--role", "agent", "--password-stdin", "--data", data}, 1, "", "it is empty"},
		{"short password", "seven77\n", []string{"user", "add", "--name", "bo", "--role", "agent", "--password-stdin", "--data", data}, 1, "", "it is 7 characters; use at least 8"},
		{"two lines", "first-line\nsecond-line\n", []string{"user", "add", "--name", "bo", "--role", "agent", "--password-stdin", "--data", data}, 1, "", "more than one line"},
		{"unknown flag", "", []string{"user", "add", "--pasword-stdin", "--data", data}, 2, "", "flag provided but not defined"},
		{"no action", "", []string{"user"}, 2, "", "add, list, remove, disable or enable"},
		{"bad action", "", []string{"user", "delete"}, 2, "", `unknown action "delete"`},
		{"help", "", []string{"user", "--help"}, 0, "--password-stdin", ""},
		{"remove unknown", "", []string{"user", "remove", "--name", "zed", "--data", data}, 1, "", `no such user: "zed"`},
		{"remove", "", []string{"user", "remove", "--name", "sue", "--data", data}, 0, "removed sue", ""},
	} {
		code, out, errOut := runWith(t, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.errText) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.name, code, out, errOut, tc.code, tc.out, tc.errText)
		}
		if tc.stdin != "" && len(tc.stdin) > 2 && (strings.Contains(out, strings.TrimSpace(tc.stdin)) || strings.Contains(errOut, strings.TrimSpace(tc.stdin))) {
			t.Errorf("%s: the password was echoed", tc.name)
		}
	}

	code, out, errOut := runWith(t, "", "user", "list", "--data", data)
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(lines[1], "ann   ") || !strings.Contains(lines[1], "agent") ||
		!strings.HasPrefix(lines[2], "root  ") || !strings.Contains(lines[2], "admin") {
		t.Errorf("list:\n%s", out)
	}

	// The stored hashes are argon2id of exactly the password given, line
	// ending trimmed.
	st, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Each change is in the access log, as the command line's, newest
	// first; nothing failed is.
	entries, err := st.ListAccess(context.Background(), store.AccessFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		got = append(got, a.UserName+" "+a.Action+" "+a.Object)
	}
	want := []string{"(command line) user.remove sue: removed", "(command line) user.add sue: added as supervisor",
		"(command line) user.add ann: added as agent", "(command line) user.add root: added as admin"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("access log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for name, pw := range map[string]string{"root": pw, "ann": "ann-password"} {
		u, err := st.UserByName(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || auth.Verify(pw, u.PasswordHash) != nil {
			t.Errorf("%s: hash %q does not verify %q", name, u.PasswordHash, pw)
		}
	}
}

func TestUserDataFromEnvironment(t *testing.T) {
	data := filepath.Join(t.TempDir(), "env-data")
	t.Setenv("HUSHPHONE_DATA", data)
	if code, _, errOut := runWith(t, "password1\n", "user", "add", "--name", "ann", "--role", "agent", "--password-stdin"); code != 0 {
		t.Fatalf("add: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, store.DBName)); err != nil {
		t.Fatalf("HUSHPHONE_DATA not used: %v", err)
	}
	code, _, errOut := runWith(t, "", "user", "list", "--data", filepath.Join(t.TempDir(), "empty"))
	if code != 0 || !strings.Contains(errOut, "no users") {
		t.Errorf("--data over HUSHPHONE_DATA: %d %q", code, errOut)
	}
}

func TestUserRefusesTerminal(t *testing.T) {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		t.Skip("no terminal:", err)
	}
	defer tty.Close()
	var o, e bytes.Buffer
	code := run(context.Background(), []string{"user", "add", "--name", "ann", "--role", "agent", "--password-stdin", "--data", t.TempDir()}, tty, &o, &e)
	if code != 1 || !strings.Contains(e.String(), "terminal") {
		t.Errorf("terminal stdin: %d %q", code, e.String())
	}
}
