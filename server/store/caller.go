package store

// This file holds the rule for the caller's number in the call log: kept,
// so that recordings can be found by it, unless it could be a card number.

import (
	"strings"
	"unicode/utf8"

	"github.com/hushphone/hushphone/payment/card"
)

// migrationCaller is schema version 9: the call log keeps the other
// party's number (CallerNumber's form).
const migrationCaller = `ALTER TABLE call_log ADD COLUMN caller TEXT NOT NULL DEFAULT '';
CREATE INDEX call_log_caller ON call_log (caller);`

// maxCaller bounds a caller as the log keeps it.
const maxCaller = 64

// maskedPrefix starts a caller number kept as its last four digits only.
const maskedPrefix = "…"

// CallerNumber is the form the call log keeps a caller's number in (the
// SIP From user, or the number an agent dialled), and the one searches
// use:
//   - a phone number (digits with '+', spaces, dashes, dots or brackets)
//     is kept as its digits, with its leading '+';
//   - one that could be a card number (13 to 19 digits passing the Luhn
//     check, or more digits than E.164's 15) is kept as its last four
//     only ("…0123"): a caller ID is the caller's to set, and a card
//     number must not reach the database that way;
//   - a name (a SIP user such as "alice" or "anonymous") is kept as it
//     is, unless it holds 12 or more digits in a row, when it too is kept
//     as its last four digits;
//   - anything longer than 64 bytes, or not UTF-8, is cut or dropped.
func CallerNumber(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return ""
	}
	digits := make([]byte, 0, len(s))
	phone := s != ""
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			phone = false
		}
	}
	n := len(digits)
	switch {
	case n >= 13 && card.Luhn(digits), n > 15, !phone && panRe.MatchString(s):
		return maskedPrefix + string(digits[max(0, n-4):])
	case phone && n > 0:
		if strings.HasPrefix(s, "+") {
			return "+" + string(digits)
		}
		return string(digits)
	}
	for len(s) > maxCaller {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// callerSearch is the pattern FindRecordings matches a caller number
// against: the number's digits without leading zeros (a national 01632
// 960123 finds +441632960123), which end the logged number; a name is
// matched whole. It is "" when s gives nothing to search by.
func callerSearch(s string) (digits string, name string) {
	c := CallerNumber(s)
	if c == "" || strings.HasPrefix(c, maskedPrefix) {
		return "", ""
	}
	d := strings.TrimLeft(strings.TrimPrefix(c, "+"), "0")
	if strings.Trim(strings.TrimPrefix(c, "+"), "0123456789") == "" {
		return d, ""
	}
	return "", c
}
