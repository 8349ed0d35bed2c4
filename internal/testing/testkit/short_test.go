package testkit

import "testing"

func TestFindShort(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{`{"expiry":"0931"}`, true},
		{`expiry 0931 typed`, true},
		{`0931`, true},
		{`{"started":"2026-12-07T10:37:09.310931234Z"}`, false},
		{`2026-12-07 10:37:09.0931`, false},
		{`{"mic":0.0931}`, false},
		{`{"seconds":10931}`, false},
		{`call 20931-x`, false},
		{`{"id":"pay_3fe0931ab77c0d21e4f5a6b7"}`, false},
		{`ref ch_0931 now`, true},
		{`card 0931-0931`, true},
	} {
		if got := FindShort([]byte(c.in), "0931") != nil; got != c.want {
			t.Errorf("FindShort(%q, 0931) = %v, want %v", c.in, got, c.want)
		}
	}
}
