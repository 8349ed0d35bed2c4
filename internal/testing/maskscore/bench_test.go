package maskscore

import "testing"

func BenchmarkScore(b *testing.B) {
	c := loadCase(b, "nominal")
	out := Delayed(passFirst(0, 1, 500)(c), 160)
	for b.Loop() {
		if _, err := Score(c.Samples, out, c.Tones, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
