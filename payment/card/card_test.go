package card

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// withLuhn returns prefix padded with zeros to n digits, the last digit set
// so that the number passes Luhn.
func withLuhn(prefix string, n int) []byte {
	b := []byte(prefix + strings.Repeat("0", n-len(prefix)))
	for d := byte('0'); d <= '9'; d++ {
		b[n-1] = d
		if Luhn(b) {
			return b
		}
	}
	return nil
}

func TestTestCards(t *testing.T) {
	tests := []struct {
		number string
		brand  Brand
	}{
		{"4242424242424242", Visa},
		{"4000000000000002", Visa},
		{"4000000000009995", Visa},
		{"4000056655665556", Visa},
		{"4222222222222", Visa},
		{"5555555555554444", Mastercard},
		{"5105105105105100", Mastercard},
		{"2223003122003222", Mastercard},
		{"378282246310005", Amex},
		{"371449635398431", Amex},
		{"6011111111111117", Discover},
		{"6011000990139424", Discover},
		{"3056930009020004", Diners},
		{"36227206271667", Diners},
		{"3566002020360505", JCB},
		{"6200000000000005", UnionPay},
		{"6759649826438453", Maestro},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			b, err := CheckNumber([]byte(tt.number), nil)
			if err != nil || b != tt.brand {
				t.Fatalf("CheckNumber = %q, %v; want %q", b, err, tt.brand)
			}
			b, err = CheckNumber([]byte(tt.number), []Brand{tt.brand})
			if err != nil || b != tt.brand {
				t.Fatalf("CheckNumber accepted = %q, %v; want %q", b, err, tt.brand)
			}
			if got := Last4([]byte(tt.number)); got != tt.number[len(tt.number)-4:] {
				t.Fatalf("Last4 = %q", got)
			}
		})
	}
}

// TestRanges checks both sides of every IIN range with full-length numbers.
func TestRanges(t *testing.T) {
	tests := []struct {
		prefix string
		brand  Brand // "" for none
	}{
		{"0", ""}, {"1", ""}, {"7", ""}, {"9", ""},
		{"299", ""}, {"31", ""}, {"32", ""}, {"33", ""},
		{"4", Visa}, {"40", Visa}, {"49", Visa},
		{"49", Visa},
		{"50", Maestro}, {"51", Mastercard}, {"55", Mastercard}, {"56", Maestro},
		{"58", Maestro}, {"59", ""},
		{"2", ""}, {"2220", ""}, {"2221", Mastercard}, {"2720", Mastercard}, {"2721", ""},
		{"34", Amex}, {"37", Amex},
		{"35", ""}, {"3527", ""}, {"3528", JCB}, {"3589", JCB}, {"3590", ""},
		{"299", ""}, {"300", Diners}, {"305", Diners}, {"306", ""}, {"309", ""},
		{"3094", ""}, {"3095", Diners}, {"3096", ""},
		{"36", Diners}, {"38", Diners}, {"39", Diners},
		{"6", Maestro}, {"60", Maestro}, {"6010", Maestro}, {"6011", Discover}, {"6012", Maestro},
		{"643", Maestro}, {"644", Discover}, {"649", Discover}, {"65", Discover},
		{"650", Discover}, {"659", Discover}, {"66", Maestro},
		{"62", UnionPay}, {"620", UnionPay}, {"622125", UnionPay}, {"622126", Discover},
		{"622925", Discover}, {"622926", UnionPay}, {"629", UnionPay},
		{"639", Maestro}, {"6304", Maestro}, {"6759", Maestro}, {"676770", Maestro},
		{"676774", Maestro}, {"69", Maestro},
		{"8", ""}, {"80", ""}, {"81", UnionPay}, {"82", ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			n := 16
			if tt.brand == Amex {
				n = 15
			}
			num := withLuhn(tt.prefix, n)
			b, ok := BrandOf(num)
			if b != tt.brand || ok != (tt.brand != "") {
				t.Fatalf("BrandOf = %q, %v; want %q", b, ok, tt.brand)
			}
			got, err := CheckNumber(num, nil)
			if tt.brand == "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != InvalidCardNumber {
					t.Fatalf("CheckNumber err = %v; want %s", err, InvalidCardNumber)
				}
				return
			}
			if err != nil || got != tt.brand {
				t.Fatalf("CheckNumber = %q, %v; want %q", got, err, tt.brand)
			}
		})
	}
}

// TestBrandOfPrefix checks that the brand is known as soon as the prefix
// decides it, and not before.
func TestBrandOfPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		brand  Brand
		ok     bool
	}{
		{"", "", false},
		{"4", Visa, true},
		{"4a", "", false},
		{"x", "", false},
		{"2", "", false},
		{"222", "", false},
		{"2221", Mastercard, true},
		{"5", "", false},
		{"51", Mastercard, true},
		{"50", Maestro, true},
		{"3", "", false},
		{"30", "", false},
		{"300", Diners, true},
		{"309", "", false},
		{"3095", Diners, true},
		{"34", Amex, true},
		{"35", "", false},
		{"352", "", false},
		{"3528", JCB, true},
		{"6", "", false},
		{"60", "", false},
		{"601", "", false},
		{"6010", Maestro, true},
		{"6011", Discover, true},
		{"62", "", false},
		{"620", UnionPay, true},
		{"622", "", false},
		{"6221", "", false},
		{"62212", "", false},
		{"622126", Discover, true},
		{"622120", UnionPay, true},
		{"64", "", false},
		{"643", Maestro, true},
		{"644", Discover, true},
		{"65", Discover, true},
		{"63", Maestro, true},
		{"67", Maestro, true},
		{"81", UnionPay, true},
		{"8", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			b, ok := BrandOf([]byte(tt.prefix))
			if b != tt.brand || ok != tt.ok {
				t.Fatalf("BrandOf = %q, %v; want %q, %v", b, ok, tt.brand, tt.ok)
			}
		})
	}
}

func TestLengths(t *testing.T) {
	want := map[Brand][]int{
		Visa:       {13, 16, 19},
		Mastercard: {16},
		Amex:       {15},
		Discover:   {16, 17, 18, 19},
		Diners:     {14, 15, 16, 17, 18, 19},
		JCB:        {16, 17, 18, 19},
		Maestro:    {12, 13, 14, 15, 16, 17, 18, 19},
		UnionPay:   {16, 17, 18, 19},
		"":         nil,
		"mir":      nil,
	}
	for b, w := range want {
		got := Lengths(b)
		if !slices.Equal(got, w) {
			t.Errorf("Lengths(%q) = %v; want %v", b, got, w)
		}
		if got != nil {
			got[0] = 99 // the caller's copy
			if Lengths(b)[0] == 99 {
				t.Errorf("Lengths(%q) shares its table", b)
			}
		}
	}
	// Every allowed length of every brand passes, one less and one more fail.
	prefixes := map[Brand]string{
		Visa: "4", Mastercard: "51", Amex: "34", Discover: "6011", Diners: "36",
		JCB: "3528", Maestro: "6759", UnionPay: "62",
	}
	for b, p := range prefixes {
		for n := 10; n <= 21; n++ {
			_, err := CheckNumber(withLuhn(p, n), nil)
			if ok := slices.Contains(want[b], n); ok != (err == nil) {
				t.Errorf("%s with %d digits: err = %v", b, n, err)
			}
		}
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"4242424242424242", true},
		{"4242424242424241", false},
		{"79927398713", true},
		{"79927398710", false},
		{"00", true},
		{"0", false},
		{"", false},
		{"42424242x4242424", false},
		{"4242 4242 4242 4242", false},
	}
	for _, tt := range tests {
		if got := Luhn([]byte(tt.in)); got != tt.want {
			t.Errorf("Luhn(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func codeOf(t *testing.T, err error) Code {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if err.Error() != string(e.Code) {
		t.Fatalf("error text %q is not its code %q", err.Error(), e.Code)
	}
	return e.Code
}

func TestCheckNumber(t *testing.T) {
	tests := []struct {
		name     string
		number   string
		accepted []Brand
		brand    Brand
		code     Code
	}{
		{"visa", "4242424242424242", nil, Visa, ""},
		{"empty accepted is all", "4242424242424242", []Brand{}, Visa, ""},
		{"accepted", "4242424242424242", []Brand{Mastercard, Visa}, Visa, ""},
		{"not accepted", "4242424242424242", []Brand{Mastercard, Amex}, "", InvalidCardType},
		{"amex not accepted", "378282246310005", []Brand{Visa}, "", InvalidCardType},
		{"not accepted beats length", "42424242", []Brand{Amex}, "", InvalidCardType},
		{"bad luhn", "4242424242424241", nil, "", InvalidCardNumber},
		{"short", "424242424242424", nil, "", InvalidCardNumber},
		{"long", "42424242424242420", nil, "", InvalidCardNumber},
		{"amex 16", "3782822463100050", nil, "", InvalidCardNumber},
		{"empty", "", nil, "", InvalidCardNumber},
		{"spaces", "4242 4242 4242 4242", nil, "", InvalidCardNumber},
		{"letter", "424242424242424a", nil, "", InvalidCardNumber},
		{"hash", "4242424242424242#", nil, "", InvalidCardNumber},
		{"unknown brand", "9999999999999995", nil, "", InvalidCardNumber},
		{"unknown brand, accepted list", "9999999999999995", []Brand{Visa}, "", InvalidCardNumber},
		{"too short to tell", "6", nil, "", InvalidCardNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := CheckNumber([]byte(tt.number), tt.accepted)
			if c := codeOf(t, err); c != tt.code || b != tt.brand {
				t.Fatalf("CheckNumber = %q, %v; want %q, %q", b, err, tt.brand, tt.code)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	if !Accepts(nil, Visa) || Accepts(nil, "mir") || Accepts(nil, "") {
		t.Fatal("nil accepted accepts the known brands only")
	}
	if Accepts([]Brand{Amex}, Visa) || !Accepts([]Brand{Amex}, Amex) {
		t.Fatal("accepted list")
	}
}

func TestNumberComplete(t *testing.T) {
	tests := []struct {
		number string
		want   bool
	}{
		{"", false},
		{"6", false},
		{"4242424242424242", false}, // Visa may go on to 19
		{"4242424242424242000", true},
		{"5555555555554444", true},
		{"555555555555444", false},
		{"378282246310005", true},
		{"37828224631000", false},
		{"6011111111111117", false},
		{"6011111111111117000", true},
		{"9999999999999999999", false},
		{"42424242424242420000", true},
	}
	for _, tt := range tests {
		if got := NumberComplete([]byte(tt.number)); got != tt.want {
			t.Errorf("NumberComplete(%q) = %v; want %v", tt.number, got, tt.want)
		}
	}
}

func TestCheckExpiry(t *testing.T) {
	nov := time.Date(2026, time.November, 26, 10, 0, 0, 0, time.UTC)
	dec := time.Date(2026, time.December, 31, 23, 59, 59, 0, time.UTC)
	jan := time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)
	// 1 December 2026 00:30 in UTC+2 is still November in UTC.
	east := time.Date(2026, time.December, 1, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	end := time.Date(2099, time.June, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		mmyy string
		now  time.Time
		ok   bool
	}{
		{"this month", "1126", nov, true},
		{"last month", "1026", nov, false},
		{"next month", "1226", nov, true},
		{"last year", "1125", nov, false},
		{"january next year", "0127", nov, true},
		{"december on the last day", "1226", dec, true},
		{"december from january", "1226", jan, false},
		{"january from january", "0127", jan, true},
		{"UTC decides the month", "1126", east, true},
		{"20 years ahead", "1146", nov, true},
		{"20 years and a month", "1246", nov, false},
		{"earlier month 20 years ahead", "0146", nov, true},
		{"99 years ahead is the past", "1025", nov, false},
		{"century roll", "0100", end, true},
		{"century roll, too far", "0120", end, false},
		{"month 00", "0027", nov, false},
		{"month 13", "1327", nov, false},
		{"month 12", "1227", nov, true},
		{"month 01", "0127", nov, true},
		{"three digits", "127", nov, false},
		{"five digits", "01270", nov, false},
		{"MMYYYY", "012027", nov, false},
		{"empty", "", nov, false},
		{"slash", "1/27", nov, false},
		{"letters", "ab27", nov, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckExpiry([]byte(tt.mmyy), tt.now)
			want := InvalidDate
			if tt.ok {
				want = ""
			}
			if c := codeOf(t, err); c != want {
				t.Fatalf("CheckExpiry(%q) = %v; want %q", tt.mmyy, err, want)
			}
		})
	}
}

func TestCheckSecurityCode(t *testing.T) {
	tests := []struct {
		code  string
		brand Brand
		ok    bool
	}{
		{"1234", Amex, true},
		{"123", Amex, false},
		{"12345", Amex, false},
		{"123", Visa, true},
		{"1234", Visa, false},
		{"12", Visa, false},
		{"123", Mastercard, true},
		{"123", Discover, true},
		{"123", Diners, true},
		{"123", JCB, true},
		{"123", Maestro, true},
		{"123", UnionPay, true},
		{"123", "", true},
		{"1234", "", true},
		{"12", "", false},
		{"12345", "", false},
		{"", "", false},
		{"", Amex, false},
		{"12a", Visa, false},
		{"12 4", Amex, false},
	}
	for _, tt := range tests {
		err := CheckSecurityCode([]byte(tt.code), tt.brand)
		want := InvalidSecurityCode
		if tt.ok {
			want = ""
		}
		if c := codeOf(t, err); c != want {
			t.Errorf("CheckSecurityCode(%q, %q) = %v; want %q", tt.code, tt.brand, err, want)
		}
	}
}

func TestCheckPostalCode(t *testing.T) {
	tests := []struct {
		code   string
		minLen int
		ok     bool
	}{
		{"12345", 0, true},
		{"1234", 0, false},
		{"1234", -1, false},
		{"1234", 4, true},
		{"123", 4, false},
		{"123456789", 5, true},
		{"1234567890", 0, true},
		{"12345678901", 0, false},
		{"", 0, false},
		{"", 1, false},
		{"1", 1, true},
		{"1234a", 0, false},
		{"SW1A 1AA", 0, false},
	}
	for _, tt := range tests {
		err := CheckPostalCode([]byte(tt.code), tt.minLen)
		want := InvalidPostalCode
		if tt.ok {
			want = ""
		}
		if c := codeOf(t, err); c != want {
			t.Errorf("CheckPostalCode(%q, %d) = %v; want %q", tt.code, tt.minLen, err, want)
		}
	}
}

func TestCheckRoutingNumber(t *testing.T) {
	tests := []struct {
		number string
		ok     bool
	}{
		{"011000015", true},
		{"021000021", true},
		{"122105155", true},
		{"026009593", true},
		{"011000016", false},
		{"021000022", false},
		{"121000021", false},
		{"02100002", false},
		{"0210000210", false},
		{"", false},
		{"02100002a", false},
		{"021-00002", false},
	}
	for _, tt := range tests {
		err := CheckRoutingNumber([]byte(tt.number))
		want := InvalidRoutingNumber
		if tt.ok {
			want = ""
		}
		if c := codeOf(t, err); c != want {
			t.Errorf("CheckRoutingNumber(%q) = %v; want %q", tt.number, err, want)
		}
	}
}

func TestCheckAccountNumber(t *testing.T) {
	tests := []struct {
		number string
		ok     bool
	}{
		{"123", false},
		{"1234", true},
		{"12345678901234567", true},
		{"123456789012345678", false},
		{"", false},
		{"12a4", false},
	}
	for _, tt := range tests {
		err := CheckAccountNumber([]byte(tt.number))
		want := InvalidAccountNumber
		if tt.ok {
			want = ""
		}
		if c := codeOf(t, err); c != want {
			t.Errorf("CheckAccountNumber(%q) = %v; want %q", tt.number, err, want)
		}
	}
}

func TestLast4(t *testing.T) {
	tests := map[string]string{
		"4242424242424242": "4242",
		"378282246310005":  "0005",
		"1234":             "1234",
		"123":              "",
		"":                 "",
		"4242424242424x42": "",
	}
	for in, want := range tests {
		if got := Last4([]byte(in)); got != want {
			t.Errorf("Last4(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestZero(t *testing.T) {
	b := []byte("4242424242424242")
	Zero(b)
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d = %d after Zero", i, c)
		}
	}
	Zero(nil)
}

// TestErrorText checks that every error's text is exactly its code, and that
// errors.Is and errors.As both work.
func TestErrorText(t *testing.T) {
	now := time.Date(2026, time.November, 26, 0, 0, 0, 0, time.UTC)
	_, numErr := CheckNumber([]byte("4242424242424241"), nil)
	_, typeErr := CheckNumber([]byte("4242424242424242"), []Brand{Amex})
	tests := []struct {
		err      error
		sentinel *Error
		code     Code
	}{
		{numErr, ErrInvalidCardNumber, InvalidCardNumber},
		{typeErr, ErrInvalidCardType, InvalidCardType},
		{CheckExpiry([]byte("1399"), now), ErrInvalidDate, InvalidDate},
		{CheckSecurityCode([]byte("12"), Visa), ErrInvalidSecurityCode, InvalidSecurityCode},
		{CheckPostalCode([]byte("1"), 0), ErrInvalidPostalCode, InvalidPostalCode},
		{CheckRoutingNumber([]byte("011000016")), ErrInvalidRoutingNumber, InvalidRoutingNumber},
		{CheckAccountNumber([]byte("1")), ErrInvalidAccountNumber, InvalidAccountNumber},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Fatalf("%s: no error", tt.code)
		}
		if tt.err.Error() != string(tt.code) {
			t.Errorf("text %q; want %q", tt.err.Error(), tt.code)
		}
		if tt.sentinel.Error() != string(tt.code) {
			t.Errorf("sentinel text %q; want %q", tt.sentinel.Error(), tt.code)
		}
		var e *Error
		if !errors.As(tt.err, &e) || e.Code != tt.code {
			t.Errorf("errors.As: %v", tt.err)
		}
		if !errors.Is(tt.err, tt.sentinel) {
			t.Errorf("errors.Is(%v, sentinel) = false", tt.err)
		}
		if errors.Is(tt.err, errors.New(string(tt.code))) {
			t.Errorf("errors.Is matched a plain error")
		}
	}
	if errors.Is(ErrInvalidDate, ErrInvalidCardNumber) {
		t.Error("different codes matched")
	}
	var nilErr *Error
	if nilErr.Error() != "" || nilErr.Is(ErrInvalidDate) || ErrInvalidDate.Is(nilErr) {
		t.Error("nil *Error")
	}
}

func FuzzCheckNumber(f *testing.F) {
	for _, s := range []string{
		"4242424242424242", "378282246310005", "6221260000000000", "6", "",
		"4242424242424241", "x", "62212", "42424242424242424242424",
	} {
		f.Add([]byte(s), uint8(0))
	}
	all := []Brand{Visa, Mastercard, Amex, Discover, Diners, JCB, Maestro, UnionPay}
	f.Fuzz(func(t *testing.T, digits []byte, mask uint8) {
		var accepted []Brand
		for i, b := range all {
			if mask&(1<<i) != 0 {
				accepted = append(accepted, b)
			}
		}
		b, err := CheckNumber(digits, accepted)
		if err != nil {
			if strings.ContainsAny(err.Error(), "0123456789") {
				t.Fatalf("error text %q has a digit", err.Error())
			}
			if b != "" {
				t.Fatalf("brand %q with an error", b)
			}
			return
		}
		if !Luhn(digits) || !slices.Contains(Lengths(b), len(digits)) || !Accepts(accepted, b) {
			t.Fatalf("accepted an invalid number as %q", b)
		}
		_ = NumberComplete(digits)
	})
}

func FuzzBrandOf(f *testing.F) {
	for _, s := range []string{"", "4", "6", "62", "622126", "3095", "x", "2221", "676774"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, digits []byte) {
		b, ok := BrandOf(digits)
		if ok != (b != "") {
			t.Fatalf("BrandOf = %q, %v", b, ok)
		}
		if !ok {
			return
		}
		if Lengths(b) == nil {
			t.Fatalf("unknown brand %q", b)
		}
		// More digits never change a decided brand.
		for d := byte('0'); d <= '9'; d++ {
			if b2, ok2 := BrandOf(append(slices.Clip(digits), d)); !ok2 || b2 != b {
				t.Fatalf("brand changed from %q to %q, %v after one more digit", b, b2, ok2)
			}
		}
	})
}

// TestNoAllocs checks that validating a number in progress and a complete
// one makes no copies of it.
func TestNoAllocs(t *testing.T) {
	num := []byte("4242424242424242")
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = BrandOf(num[:6])
		_ = NumberComplete(num)
		_, _ = CheckNumber(num, []Brand{Visa})
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}
