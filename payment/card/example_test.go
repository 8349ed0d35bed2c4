package card_test

import (
	"errors"
	"fmt"

	"github.com/hushphone/hushphone/payment/card"
)

func ExampleCheckNumber() {
	digits := []byte("4242424242424242")
	defer card.Zero(digits)

	b, err := card.CheckNumber(digits, []card.Brand{card.Visa, card.Mastercard})
	fmt.Println(b, err, card.Last4(digits))

	_, err = card.CheckNumber([]byte("4242424242424241"), nil)
	var e *card.Error
	fmt.Println(errors.As(err, &e), e.Code, errors.Is(err, card.ErrInvalidCardNumber))
	// Output:
	// visa <nil> 4242
	// true invalid-card-number true
}
