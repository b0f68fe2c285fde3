// Package ids makes the random identifiers and secrets of the product: short random ids,
// opaque 256-bit tokens, and their SHA-256 digests. (History events are numbered by the
// store, never by a clock: see store's history head.) Everything comes from
// crypto/rand; math/rand is never used for anything a caller could guess.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// New returns a short random id with a readable prefix ("conv", "inv", …). 96 random bits:
// unguessable, unique without coordination.
func New(prefix string) string {
	var b [12]byte
	mustRead(b[:])
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Token returns a 256-bit random secret, URL-safe, for session tokens, join tokens and
// connect tickets. Only its Hash is ever stored.
func Token() string {
	var b [32]byte
	mustRead(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash is the stored form of a Token: hex SHA-256. A 256-bit random token needs no salt or
// stretching; a plain digest cannot be reversed.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Uint64 returns a uniformly random number, for PIN digits.
func Uint64() uint64 {
	var b [8]byte
	mustRead(b[:])
	return binary.BigEndian.Uint64(b[:])
}

func mustRead(b []byte) {
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+); it crashes
	// the program instead, which is the right answer when the OS has no randomness.
	_, _ = rand.Read(b)
}

// MaxIDLen bounds every id a caller sends (SPEC §4): far below DynamoDB's 2,048-byte key
// limit, so a hostile id is refused as bad input instead of failing in the store.
const MaxIDLen = 128

// Valid reports whether s has the shape and length of an id: 1 to MaxIDLen bytes of letters,
// digits and ._@:- , starting with a letter or digit. That covers the ids made here (a prefix,
// "_" and base64url) and agent and team ids (a JWT subject such as a UUID or an e-mail-like
// name). Every id in a path or a body is checked with it before any rate limit or store access.
//
// A loop, not a regular expression: the bounded repetition a pattern needs here compiles to
// 128 copies of its class, about 2 ms at every cold start of every function.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen || !alphanumeric(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alphanumeric(c) && !strings.ContainsRune("._@:-", rune(c)) {
			return false
		}
	}
	return true
}

func alphanumeric(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Check refuses a malformed id with 400 invalid_id, naming the field.
func Check(field, s string) error {
	if !Valid(s) {
		return apperror.Invalid("invalid_id", field+" is not a well-formed id (letters, digits and ._@:- , at most 128 bytes)")
	}
	return nil
}
