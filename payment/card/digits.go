package card

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDigitGap is how many characters that are neither letters nor digits
// (spaces, dashes, dots, slashes, ...) may stand between two digits of one
// run: "4242 4242 4242 4242", "4242-4242" and "4.2.4.2" are runs of 16, 8
// and 4 digits, and so is "(424) 242-4242" one of 10. A letter ends a run.
const MaxDigitGap = 3

// DigitRun returns how many digits the longest run in s holds, counted as
// MaxDigitGap says: what a text that must not carry card data is checked
// with. Any Unicode decimal digit counts ("４２" is two).
func DigitRun(s string) int {
	longest := 0
	digitRuns(s, func(_, _, n int) {
		longest = max(longest, n)
	})
	return longest
}

// RedactDigitRuns returns s with every run of at least minDigits digits
// (counted as DigitRun counts them, from its first digit to its last)
// replaced by with.
func RedactDigitRuns(s string, minDigits int, with string) string {
	var b strings.Builder
	last := 0
	digitRuns(s, func(start, end, n int) {
		if n < minDigits {
			return
		}
		if b.Len() == 0 && last == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(with)
		last = end
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// digitRuns calls f with each run's byte offsets (from its first digit to
// the end of its last) and digit count, in order.
func digitRuns(s string, f func(start, end, n int)) {
	start, end, n, gap := 0, 0, 0, 0
	flush := func() {
		if n > 0 {
			f(start, end, n)
		}
		n, gap = 0, 0
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsDigit(r):
			if n == 0 {
				start = i
			}
			n++
			end, gap = i+w, 0
		case unicode.IsLetter(r):
			flush()
		case n > 0:
			if gap++; gap > MaxDigitGap {
				flush()
			}
		}
		i += w
	}
	flush()
}
