package main

import (
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"rsc.io/qr"

	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// TestUserMFA: enroll prints the otpauth URI, its QR code, the secret and
// ten recovery codes, and stores what signs in with them; a second enroll
// is refused until reset; reset removes it.
func TestUserMFA(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errOut := runWith(t, "sue-password\n", "user", "add", "--name", "sue", "--role", "supervisor", "--password-stdin", "--data", data); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runWith(t, "", "user", "mfa", "enroll", "--name", "SUE", "--data", data)
	if code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, errOut)
	}
	uri := regexp.MustCompile(`otpauth://totp/\S+`).FindString(out)
	u, err := url.Parse(uri)
	if err != nil || u.Query().Get("issuer") != "Hushphone" || !strings.HasSuffix(u.Path, ":sue") {
		t.Fatalf("enroll printed no good URI (%v):\n%s", err, out)
	}
	secret := u.Query().Get("secret")
	if !strings.Contains(out, "\n  "+secret+"\n") {
		t.Errorf("the secret is not shown for typing in:\n%s", out)
	}
	// The QR code drawn is the URI's.
	if got, want := readQR(t, out), qrModules(t, uri); got != want {
		t.Errorf("the QR code drawn is not the URI's:\n%s\nwant\n%s", got, want)
	}
	recovery := regexp.MustCompile(`(?m)^  ([a-z2-7]{4}-){3}[a-z2-7]{4}$`).FindAllString(out, -1)
	if len(recovery) != totp.RecoveryCount {
		t.Errorf("%d recovery codes printed, want %d:\n%s", len(recovery), totp.RecoveryCount, out)
	}
	// What was stored is what was shown: the secret, and the codes' hashes.
	ctx := context.Background()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	su, _ := st.UserByName(ctx, "sue")
	m, err := st.UserMFA(ctx, su.ID)
	if err != nil || m.Secret != secret || m.RecoveryCodes != totp.RecoveryCount {
		t.Errorf("stored %+v %v", m, err)
	}
	if len(recovery) > 0 {
		if err := st.UseRecoveryCode(ctx, su.ID, totp.RecoveryHash(strings.TrimSpace(recovery[0]))); err != nil {
			t.Errorf("a printed recovery code: %v", err)
		}
	}
	c, _ := totp.Code(secret, totp.Step(time.Now()))
	if _, err := totp.Check(m.Secret, c, time.Now(), 0); err != nil {
		t.Errorf("the app's code: %v", err)
	}
	_ = st.Close()

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		out     string
		errText string
	}{
		{"enroll again", []string{"user", "mfa", "enroll", "--name", "sue", "--data", data}, 1, "", "user mfa reset --name sue"},
		{"unknown user", []string{"user", "mfa", "enroll", "--name", "zed", "--data", data}, 1, "", "no such user"},
		{"no name", []string{"user", "mfa", "enroll", "--data", data}, 2, "", "--name is required"},
		{"no action", []string{"user", "mfa"}, 2, "", "enroll or reset"},
		{"bad action", []string{"user", "mfa", "show", "--name", "sue"}, 2, "", `unknown action "show"`},
		{"help", []string{"user", "mfa", "--help"}, 0, "RFC 6238", ""},
		{"reset", []string{"user", "mfa", "reset", "--name", "sue", "--data", data}, 0, "removed sue's second factor", ""},
		{"reset again", []string{"user", "mfa", "reset", "--name", "sue", "--data", data}, 1, "", "no second factor"},
		{"enroll after reset", []string{"user", "mfa", "enroll", "--name", "sue", "--data", data}, 0, "otpauth://", ""},
	} {
		code, out, errOut := runWith(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.errText) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.name, code, out, errOut, tc.code, tc.out, tc.errText)
		}
	}
	if strings.Contains(out, "sue-password") {
		t.Error("the password was shown")
	}
}

// readQR reads the half-block drawing in out back into rows of '#' (dark)
// and '.' (light), without the quiet zone.
func readQR(t *testing.T, out string) string {
	t.Helper()
	var rows []string
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimPrefix(line, "  ")
		if line == "" || !strings.ContainsAny(line, "█▀▄") {
			continue
		}
		var top, bottom strings.Builder
		for _, r := range line {
			top.WriteByte(map[bool]byte{true: '.', false: '#'}[r == '█' || r == '▀'])
			bottom.WriteByte(map[bool]byte{true: '.', false: '#'}[r == '█' || r == '▄'])
		}
		rows = append(rows, top.String(), bottom.String())
	}
	if len(rows) < 6 {
		t.Fatalf("no QR code drawn:\n%s", out)
	}
	rows = rows[2:] // the quiet zone
	n := len(rows[0]) - 4
	var b strings.Builder
	for _, r := range rows[:n] {
		b.WriteString(r[2:2+n] + "\n")
	}
	return b.String()
}

func qrModules(t *testing.T, s string) string {
	t.Helper()
	c, err := qr.Encode(s, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for y := range c.Size {
		for x := range c.Size {
			b.WriteByte(map[bool]byte{true: '#', false: '.'}[c.Black(x, y)])
		}
		b.WriteString("\n")
	}
	return b.String()
}
