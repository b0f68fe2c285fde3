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
