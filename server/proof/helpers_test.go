package proof

import "math"

func pow10(x float64) float64 { return math.Pow(10, x) }

// sinTurns is sin(2π·turns).
func sinTurns(turns float64) float64 { return math.Sin(2 * math.Pi * turns) }
