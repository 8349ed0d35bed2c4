// Package card holds the card rules a capture session validates keypad input
// with: the brand of a card number from its IIN (issuer identification
// number) ranges and the lengths each brand allows, the Luhn check, expiry
// dates (MMYY), security codes (CVV/CVC/CID), postal codes, and for bank
// payments ABA routing numbers and account numbers.
//
// Card data arrives as []byte of ASCII digits so that the caller can zero it
// (see Zero) when the session ends; the functions here read it and never keep
// it, never convert it to a string they keep, and never log (the package has
// no logger). Following PCI DSS, digits are never put in an error: every
// failure is an *Error whose text is exactly its Code (for example
// "invalid-card-number"), so an error can be logged, shown or sent anywhere.
// The only part of a card number ever shown is its last four digits (Last4).
package card

import (
	"errors"
	"time"
)

// Brand is a card brand (scheme).
type Brand string

// The brands this package knows.
const (
	Visa       Brand = "visa"
	Mastercard Brand = "mastercard"
	Amex       Brand = "amex"
	Discover   Brand = "discover"
	Diners     Brand = "diners"
	JCB        Brand = "jcb"
	Maestro    Brand = "maestro"
	UnionPay   Brand = "unionpay"
)

// Code names what was wrong with a field, the way the field knows it.
type Code string

// The codes an *Error carries.
const (
	InvalidCardNumber    Code = "invalid-card-number"
	InvalidCardType      Code = "invalid-card-type"
	InvalidDate          Code = "invalid-date"
	InvalidSecurityCode  Code = "invalid-security-code"
	InvalidPostalCode    Code = "invalid-postal-code"
	InvalidRoutingNumber Code = "invalid-routing-number"
	InvalidAccountNumber Code = "invalid-account-number"
)

// Error is a validation failure. It carries only a code: never a digit of
// what was entered.
type Error struct {
	Code Code
}

// Error returns the code, and nothing else.
func (e *Error) Error() string {
	if e == nil {
		return ""
	}
	return string(e.Code)
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, card.ErrInvalidDate) works as well as errors.As.
func (e *Error) Is(target error) bool {
	var t *Error
	if e == nil || !errors.As(target, &t) || t == nil {
		return false
	}
	return e.Code == t.Code
}

// Sentinels for errors.Is, one per code. Functions return fresh *Error
// values that match these.
var (
	ErrInvalidCardNumber    = &Error{Code: InvalidCardNumber}
	ErrInvalidCardType      = &Error{Code: InvalidCardType}
	ErrInvalidDate          = &Error{Code: InvalidDate}
	ErrInvalidSecurityCode  = &Error{Code: InvalidSecurityCode}
	ErrInvalidPostalCode    = &Error{Code: InvalidPostalCode}
	ErrInvalidRoutingNumber = &Error{Code: InvalidRoutingNumber}
	ErrInvalidAccountNumber = &Error{Code: InvalidAccountNumber}
)

func fail(c Code) error { return &Error{Code: c} }

// isDigits reports whether b is non-empty and all ASCII digits.
func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Luhn reports whether digits (ASCII, at least two of them) pass the Luhn
// (mod 10) check. Anything that is not a digit fails.
func Luhn(digits []byte) bool {
	if len(digits) < 2 || !isDigits(digits) {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// CheckNumber is the complete check of a card number: digits only, a known
// brand (else InvalidCardNumber), a brand in accepted (else InvalidCardType;
// a nil or empty accepted accepts every brand), then a length the brand
// allows and the Luhn check (else InvalidCardNumber). It returns the brand
// when the number is valid.
func CheckNumber(digits []byte, accepted []Brand) (Brand, error) {
	if !isDigits(digits) {
		return "", fail(InvalidCardNumber)
	}
	b, ok := BrandOf(digits)
	if !ok {
		return "", fail(InvalidCardNumber)
	}
	if !Accepts(accepted, b) {
		return "", fail(InvalidCardType)
	}
	if !lengthAllowed(b, len(digits)) || !Luhn(digits) {
		return "", fail(InvalidCardNumber)
	}
	return b, nil
}

// Accepts reports whether b is in accepted; a nil or empty accepted accepts
// every known brand.
func Accepts(accepted []Brand, b Brand) bool {
	if len(accepted) == 0 {
		return Lengths(b) != nil
	}
	for _, a := range accepted {
		if a == b {
			return true
		}
	}
	return false
}

// NumberComplete reports whether the number has reached the longest length
// its brand allows, so that no more digits can follow (the session then
// advances by itself if the number is valid). It is false while the brand is
// not yet known.
func NumberComplete(digits []byte) bool {
	b, ok := BrandOf(digits)
	if !ok {
		return false
	}
	ls := lengths[b]
	return len(digits) >= ls[len(ls)-1]
}

// CheckExpiry checks an expiry date entered as MMYY: month 01 to 12, not
// before now's month (a card is good through the end of its month, in UTC),
// and not more than 20 years ahead of now's month; else InvalidDate. The
// two-digit year is read as the one at or after now's year (so it rolls over
// into the next century when it has to).
func CheckExpiry(mmyy []byte, now time.Time) error {
	if len(mmyy) != 4 || !isDigits(mmyy) {
		return fail(InvalidDate)
	}
	month := int(mmyy[0]-'0')*10 + int(mmyy[1]-'0')
	yy := int(mmyy[2]-'0')*10 + int(mmyy[3]-'0')
	if month < 1 || month > 12 {
		return fail(InvalidDate)
	}
	now = now.UTC()
	nowYear, nowMonth := now.Year(), int(now.Month())
	aheadYears := ((yy-nowYear%100)%100 + 100) % 100
	ahead := aheadYears*12 + month - nowMonth // months from now's month
	if ahead < 0 || ahead > maxExpiryMonthsAhead {
		return fail(InvalidDate)
	}
	return nil
}

// maxExpiryMonthsAhead is how far ahead an expiry may be: 20 years.
const maxExpiryMonthsAhead = 20 * 12

// CheckSecurityCode checks a security code for brand b: 4 digits for Amex, 3
// for the other known brands, 3 or 4 when the brand is not known; else
// InvalidSecurityCode.
func CheckSecurityCode(digits []byte, b Brand) error {
	if !isDigits(digits) {
		return fail(InvalidSecurityCode)
	}
	n := len(digits)
	switch {
	case b == Amex:
		if n == 4 {
			return nil
		}
	case Lengths(b) != nil:
		if n == 3 {
			return nil
		}
	case n == 3 || n == 4:
		return nil
	}
	return fail(InvalidSecurityCode)
}

// DefaultPostalMinLen is the minimum postal code length when none is given.
const DefaultPostalMinLen = 5

// maxPostalLen is the longest postal code accepted (a US ZIP+4 is 9).
const maxPostalLen = 10

// CheckPostalCode checks a postal code typed on a keypad: digits only, at
// least minLen of them (DefaultPostalMinLen when minLen <= 0) and at most 10;
// else InvalidPostalCode.
func CheckPostalCode(digits []byte, minLen int) error {
	if minLen <= 0 {
		minLen = DefaultPostalMinLen
	}
	if !isDigits(digits) || len(digits) < minLen || len(digits) > maxPostalLen {
		return fail(InvalidPostalCode)
	}
	return nil
}

// CheckRoutingNumber checks an ABA routing transit number: 9 digits whose
// checksum, with weights 3, 7, 1 repeating, is a multiple of 10; else
// InvalidRoutingNumber.
func CheckRoutingNumber(digits []byte) error {
	if len(digits) != 9 || !isDigits(digits) {
		return fail(InvalidRoutingNumber)
	}
	weights := [3]int{3, 7, 1}
	sum := 0
	for i, c := range digits {
		sum += weights[i%3] * int(c-'0')
	}
	if sum%10 != 0 {
		return fail(InvalidRoutingNumber)
	}
	return nil
}

// CheckAccountNumber checks a bank account number: 4 to 17 digits; else
// InvalidAccountNumber.
func CheckAccountNumber(digits []byte) error {
	if !isDigits(digits) || len(digits) < 4 || len(digits) > 17 {
		return fail(InvalidAccountNumber)
	}
	return nil
}

// Last4 returns the last four digits of a number, the only part of it ever
// shown. It returns "" when there are fewer than four or they are not all
// digits (a shorter number would be shown whole).
func Last4(digits []byte) string {
	if len(digits) < 4 {
		return ""
	}
	last := digits[len(digits)-4:]
	if !isDigits(last) {
		return ""
	}
	return string(last)
}

// Zero overwrites b with zero bytes. Callers zero every buffer that held card
// data once they are done with it.
func Zero(b []byte) {
	clear(b)
}
