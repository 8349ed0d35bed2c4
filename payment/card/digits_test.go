package card

import (
	"strings"
	"testing"
	"unicode"
)

func TestDigitRun(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"no digits", 0},
		{"4242424242424242", 16},
		{"4242 4242 4242 4242", 16},
		{"4242-4242-4242", 12},
		{"4.2.4.2.4.2.4", 7},
		{"4 / 2 / 4", 3},
		{"(424) 242-4242", 10},
		{"4242    4242", 4}, // four spaces: two runs
		{"order 123, 4567 boxes", 7},
		{"order 123 x 4567", 4},
		{"ref A1B2C3D4", 1},
		{"４２４２ ４２４２", 8},          // fullwidth digits
		{"42\u00a042\u200b42", 6}, // no-break and zero-width spaces
		{"12.50 GBP, 3 tickets", 4},
		{"2026-01-15", 8},
		{"pay_1a2b3c4d5e6f", 1},
		{"\xff4\xff2\xff4", 3}, // invalid UTF-8 between digits
	} {
		if got := DigitRun(tc.s); got != tc.want {
			t.Errorf("DigitRun(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestRedactDigitRuns(t *testing.T) {
	for _, tc := range []struct {
		s, want string
	}{
		{"declined: 4242 4242 4242 4242 is closed", "declined: # is closed"},
		{"ref 12-34 and 4242-4242-4242", "ref 12-34 and #"},
		{"card (4242) 4242.", "card (#."},
		{"no digits", "no digits"},
		{"1234567", "#"},
		{"123456", "123456"},
		{"a 1.2.3.4.5.6.7 b 1234567", "a # b #"},
	} {
		if got := RedactDigitRuns(tc.s, 7, "#"); got != tc.want {
			t.Errorf("RedactDigitRuns(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// FuzzDigitRun: what RedactDigitRuns leaves has no run as long as the one
// it was asked to remove, and text without such a run is left as it was.
func FuzzDigitRun(f *testing.F) {
	for _, s := range []string{"4242 4242 4242 4242", "4.2.4.2.4.2.4", "a1b2", "４２４２-４２４２", "12 - 34 - 567", "\xff1\xff2"} {
		f.Add(s, 7)
	}
	f.Fuzz(func(t *testing.T, s string, minDigits int) {
		minDigits = 1 + int(uint(minDigits)%20)
		got := RedactDigitRuns(s, minDigits, "#")
		if n := DigitRun(got); n >= minDigits {
			t.Fatalf("RedactDigitRuns(%q, %d) = %q still holds a run of %d", s, minDigits, got, n)
		}
		if DigitRun(s) < minDigits && got != s {
			t.Fatalf("RedactDigitRuns(%q, %d) changed a text without a long run: %q", s, minDigits, got)
		}
		if n := strings.IndexFunc(got, unicode.IsDigit); n < 0 && DigitRun(got) != 0 {
			t.Fatalf("a run without a digit in %q", got)
		}
	})
}
