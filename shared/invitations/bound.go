package invitations

import (
	"math"
	"time"
)

// GuessingBound is the README's math for a configuration: the most failed PIN redemptions
// the deployment-wide limit lets through during one PIN lifetime, and an upper bound on the
// chance that an attacker who uses all of them hits any of livePINs live PINs.
//
// A fixed window lets a burst straddle a boundary, so a span of one lifetime touches at most
// lifetime/window + 1 windows. Each guess hits with probability at most live/(space − guesses
// made before it), so by the union bound P ≤ F·live/(space − F).
func GuessingBound(c Config, livePINs int) (maxFailures int, p float64) {
	rule := c.Limits.PINFailuresEverywhere
	windows := int(c.PINTTL / rule.Window)
	if c.PINTTL%rule.Window != 0 {
		windows++
	}
	maxFailures = (windows + 1) * rule.Limit
	space := math.Pow10(c.PINLength)
	return maxFailures, float64(maxFailures) * float64(livePINs) / (space - float64(maxFailures))
}

// CustomerTries is how many wrong PINs a customer can type before the per-IP limit answers
// 429, and how long they wait at most after that.
func CustomerTries(c Config) (tries int, wait time.Duration) {
	return c.Limits.PINFailuresPerIP.Limit, c.Limits.PINFailuresPerIP.Window
}
