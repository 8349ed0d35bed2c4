package card

// iinRange is one range of issuer identification numbers: a card whose first
// len(lo) digits lie in [lo, hi] belongs to brand. lo and hi have the same
// length.
type iinRange struct {
	lo, hi string
	brand  Brand
}

// iinTable is the IIN ranges of the brands, as published by the schemes and
// collected in the usual public references (the schemes' acceptance guides,
// Discover's IIN range table for acquirers, Wikipedia's "Payment card
// number" table). When ranges overlap, the longest prefix wins.
//
// Decisions:
//   - 622126-622925 is co-branded Discover/UnionPay (Discover's network
//     alliance with UnionPay); it is reported as Discover, as Discover's own
//     IIN table and most processors do. The rest of 62 is UnionPay.
//   - Maestro takes the rest of 6 that no other range here claims (as in
//     Mastercard's Maestro ranges); 639, 6304, 6759, 676770 and 676774 are
//     listed too, for the record, though 6 already covers them.
//   - Not listed (so unknown): RuPay, Mir, Elo, Verve, Troy, InstaPayment,
//     UATP (1), and Visa Electron/Dankort, which are Visa's 4 anyway.
var iinTable = []iinRange{
	// Visa: 4 (Visa's BIN ranges).
	{"4", "4", Visa},
	// Mastercard: 51-55 and the 2-series 2221-2720 (since 2017).
	{"51", "55", Mastercard},
	{"2221", "2720", Mastercard},
	// American Express: 34 and 37.
	{"34", "34", Amex},
	{"37", "37", Amex},
	// Discover: 6011, 644-649, 65, and 622126-622925 (co-branded with
	// UnionPay); Discover's IIN range table.
	{"6011", "6011", Discover},
	{"644", "649", Discover},
	{"65", "65", Discover},
	{"622126", "622925", Discover},
	// Diners Club International: 36, 300-305, 3095, 38-39 (Discover's
	// table: Diners is carried on the Discover network).
	{"36", "36", Diners},
	{"300", "305", Diners},
	{"3095", "3095", Diners},
	{"38", "39", Diners},
	// JCB: 3528-3589.
	{"3528", "3589", JCB},
	// Maestro: 50, 56-58, 6 (other than the ranges above), 639, 6304,
	// 6759, 676770, 676774 (Mastercard's Maestro ranges).
	{"50", "50", Maestro},
	{"56", "58", Maestro},
	{"6", "6", Maestro},
	{"639", "639", Maestro},
	{"6304", "6304", Maestro},
	{"6759", "6759", Maestro},
	{"676770", "676770", Maestro},
	{"676774", "676774", Maestro},
	// UnionPay: 62 (other than the Discover co-brand) and 81.
	{"62", "62", UnionPay},
	{"81", "81", UnionPay},
}

// lengths is the card number lengths each brand allows, shortest first.
var lengths = map[Brand][]int{
	Visa:       {13, 16, 19},
	Mastercard: {16},
	Amex:       {15},
	Discover:   {16, 17, 18, 19},
	Diners:     {14, 15, 16, 17, 18, 19},
	JCB:        {16, 17, 18, 19},
	Maestro:    {12, 13, 14, 15, 16, 17, 18, 19},
	UnionPay:   {16, 17, 18, 19},
}

// Lengths returns the card number lengths brand b allows, shortest first, or
// nil for a brand this package does not know. The slice is the caller's.
func Lengths(b Brand) []int {
	ls, ok := lengths[b]
	if !ok {
		return nil
	}
	return append([]int(nil), ls...)
}

func lengthAllowed(b Brand, n int) bool {
	for _, l := range lengths[b] {
		if l == n {
			return true
		}
	}
	return false
}

// compare compares b with s, which has the same length, byte by byte, as
// bytes.Compare would, without making a string of b.
func compare(b []byte, s string) int {
	for i := 0; i < len(b) && i < len(s); i++ {
		switch {
		case b[i] < s[i]:
			return -1
		case b[i] > s[i]:
			return 1
		}
	}
	return 0
}

// BrandOf returns the brand of a card number (or of its first digits) as soon
// as the prefix decides it: the longest IIN range matching the digits, once
// no longer range of another brand could still match after more digits. It
// returns false for non-digits, an unknown prefix, or too few digits to tell
// (for example "6", which could still be Discover's 6011 or Maestro).
func BrandOf(digits []byte) (Brand, bool) {
	if !isDigits(digits) {
		return "", false
	}
	var best Brand
	bestLen := 0
	for _, r := range iinTable {
		n := len(r.lo)
		if n > len(digits) || n <= bestLen {
			continue
		}
		p := digits[:n]
		if compare(p, r.lo) >= 0 && compare(p, r.hi) <= 0 {
			best, bestLen = r.brand, n
		}
	}
	if bestLen == 0 {
		return "", false
	}
	// A longer range that more digits could still reach decides against
	// best unless it is the same brand.
	k := len(digits)
	for _, r := range iinTable {
		if len(r.lo) <= k || r.brand == best {
			continue
		}
		if compare(digits, r.lo[:k]) >= 0 && compare(digits, r.hi[:k]) <= 0 {
			return "", false
		}
	}
	return best, true
}
