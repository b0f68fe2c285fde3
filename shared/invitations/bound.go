package invitations

import (
	"math"
	"time"

	"github.com/invite-forward/invite-forward/shared/ratelimit"
)

// GuessingBound is the README's math for a configuration: the most failed PIN redemptions
// an attacker with the given number of client addresses (IPv4 addresses or IPv6 /64s) can
// make during one PIN lifetime, and an upper bound on the chance that they hit any of
// livePINs live PINs.
//
// An address's first attempt in its per-client window needs no share of the deployment-wide
// budget (that is what keeps customers with a clean record from ever being locked out); every
// other attempt takes one, and the shards together allow shards × ⌊limit/shards⌋ per window.
// A fixed window lets a burst straddle a boundary, so a span of one lifetime touches at most
// lifetime/window + 1 windows of each rule. Each guess hits with probability at most
// live/(space − guesses made before it), so by the union bound P ≤ F·live/(space − F).
func GuessingBound(c Config, livePINs, addresses int) (maxFailures int, p float64) {
	budget := c.Limits.PINFailuresEverywhere
	perShard := budget.Limit / ratelimit.BudgetShards
	maxFailures = windowsTouched(c.PINTTL, budget.Window)*ratelimit.BudgetShards*perShard +
		addresses*windowsTouched(c.PINTTL, c.Limits.PINFailuresPerIP.Window)
	space := math.Pow10(c.PINLength)
	return maxFailures, float64(maxFailures) * float64(livePINs) / (space - float64(maxFailures))
}

// AddressesForChance is the fewest client addresses with which an attacker's bound passes p
// during one PIN lifetime.
func AddressesForChance(c Config, livePINs int, p float64) int {
	n := 0
	for {
		if _, chance := GuessingBound(c, livePINs, n); chance > p {
			return n
		}
		n++
	}
}

func windowsTouched(span, window time.Duration) int {
	n := int(span / window)
	if span%window != 0 {
		n++
	}
	return n + 1
}

// CustomerTries is how many wrong PINs a customer can type before the per-IP limit answers
// 429, and how long they wait at most after that.
func CustomerTries(c Config) (tries int, wait time.Duration) {
	return c.Limits.PINFailuresPerIP.Limit, c.Limits.PINFailuresPerIP.Window
}
