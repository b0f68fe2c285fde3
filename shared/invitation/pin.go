package invitation

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/ids"
)

// PIN lengths and lifetimes. The defaults are chosen together with the rate limits so that
// guessing fails (README, "Why PINs cannot be guessed"): with 9 digits there are 10^9 PINs,
// so 1,000 live PINs make a single guess hit with probability 10^-6.
const (
	MinPINLength     = 6
	MaxPINLength     = 18 // 10^18 < 2^64: a PIN fits one uint64 draw
	DefaultPINLength = 9
	DefaultPINTTL    = 10 * time.Minute
	// MaxPINTTL follows OWASP ASVS (v5 6.6.x, out-of-band codes): at most 10 minutes.
	MaxPINTTL = 10 * time.Minute
)

// CheckPINSettings refuses a PIN length or lifetime outside what the rules allow; the
// deployment does not start with them.
func CheckPINSettings(length int, ttl time.Duration) error {
	if length < MinPINLength || length > MaxPINLength {
		return fmt.Errorf("invitation: PIN length %d is outside %d…%d", length, MinPINLength, MaxPINLength)
	}
	if ttl < time.Minute || ttl > MaxPINTTL {
		return fmt.Errorf("invitation: PIN lifetime %s is outside 1m…%s", ttl, MaxPINTTL)
	}
	return nil
}

// NewPIN returns a PIN of the given number of digits, uniformly random from crypto/rand.
func NewPIN(length int) string { return newPIN(length, ids.Uint64) }

// newPIN draws until the number falls below the largest multiple of 10^length that fits in
// 2^64, then takes it modulo 10^length. Without the rejection, the first 2^64 mod 10^length
// PINs would be likelier than the others (modulo bias).
func newPIN(length int, random func() uint64) string {
	space := pow10(length)
	excess := (math.MaxUint64%space + 1) % space // 2^64 mod space
	for {
		n := random()
		if n <= math.MaxUint64-excess {
			return fmt.Sprintf("%0*d", length, n%space)
		}
	}
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// maxPINInput bounds what is looked at of a typed PIN: generous for separators, small enough
// that nothing big is ever processed.
const maxPINInput = 64

// NormalizePIN turns what a customer typed into the PIN's digits: spaces and hyphens (the join
// page may group digits as "123 456 789") are dropped. It reports false unless exactly length
// ASCII digits remain.
func NormalizePIN(typed string, length int) (string, bool) {
	if len(typed) > maxPINInput {
		return "", false
	}
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	if b.Len() != length {
		return "", false
	}
	return b.String(), true
}

// ErrPINInvalid is the one answer to every PIN that does not open a conversation: unknown,
// mistyped, expired, used, revoked, or for a conversation that ended. One answer for all, so
// that trying PINs tells an attacker nothing beyond "no".
var ErrPINInvalid = apperror.Invalid("pin_invalid", "this PIN is not valid; check it, or ask the agent for a new one")

// ErrPINMalformed answers what cannot be a PIN at all (letters, the wrong number of digits):
// bad input, not a guess, so it spends no rate limit and tells nothing about any PIN.
var ErrPINMalformed = apperror.Invalid("pin_malformed", "a PIN is a number of the length the agent gave you; check it")

// ErrJoinTokenMalformed answers what cannot be a join token at all (a link cut short).
var ErrJoinTokenMalformed = apperror.Invalid("join_token_malformed", "this invitation link is incomplete; open it again from the email")

// ErrJoinTokenInvalid is the one answer to every join token that does not open a conversation.
var ErrJoinTokenInvalid = apperror.Invalid("join_token_invalid", "this invitation link is not valid any more; ask the agent for a new one")

// MinSecretLen is the least deployment secret accepted: 32 bytes, the HMAC-SHA256 block's half.
const MinSecretLen = 32

// PINKey computes the keyed hash under which a PIN is stored. A PIN has at most 10^18 values;
// a plain hash of one is reversed by trying them all in seconds, so the hash is an HMAC with a
// secret of the deployment that the table never holds.
type PINKey struct {
	key []byte
}

// NewPINKey returns a PIN key for the deployment secret.
func NewPINKey(secret []byte) (PINKey, error) {
	if len(secret) < MinSecretLen {
		return PINKey{}, errors.New("invitation: the deployment secret must be at least 32 bytes")
	}
	return PINKey{key: append([]byte(nil), secret...)}, nil
}

// pinLabel separates PIN hashes from anything else ever derived from the same secret.
const pinLabel = "invite-forward/pin/v1\x00"

// Hash returns the hex HMAC-SHA256 of the PIN.
func (k PINKey) Hash(pin string) string {
	if len(k.key) == 0 {
		panic("invitation: PINKey used without a secret")
	}
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte(pinLabel))
	mac.Write([]byte(pin))
	return hex.EncodeToString(mac.Sum(nil))
}
