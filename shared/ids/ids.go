// Package ids makes the random identifiers and secrets of the product: ids that sort by
// creation time, opaque 256-bit tokens, and their SHA-256 digests. Everything comes from
// crypto/rand; math/rand is never used for anything a caller could guess.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// New returns a short random id with a readable prefix ("conv", "inv", …). 96 random bits:
// unguessable, unique without coordination.
func New(prefix string) string {
	var b [12]byte
	mustRead(b[:])
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Sortable returns an id that sorts by time (millisecond resolution) and then randomly, so
// history pages by a plain string comparison of the sort key.
func Sortable(at time.Time) string {
	var r [6]byte
	mustRead(r[:])
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	for len(ms) < 14 {
		ms = "0" + ms
	}
	return ms + "-" + hex.EncodeToString(r[:])
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
