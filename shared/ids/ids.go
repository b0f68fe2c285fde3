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
	"fmt"
	"sync"
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
// history pages by a plain string comparison of the sort key. Within one process, ids made in
// the same millisecond increase (the random part is incremented, like ULID's monotonic mode),
// so the events of one action keep the order in which they were made.
func Sortable(at time.Time) string {
	ms := at.UnixMilli()
	sortableMu.Lock()
	var r uint64
	if ms == lastMilli {
		r = (lastRandom + 1) & (1<<48 - 1)
	} else {
		var b [8]byte
		mustRead(b[2:])
		r = binary.BigEndian.Uint64(b[:]) >> 1 // leave room to increment without wrapping
	}
	lastMilli, lastRandom = ms, r
	sortableMu.Unlock()
	return fmt.Sprintf("%014d-%012x", ms, r)
}

var (
	sortableMu sync.Mutex
	lastMilli  int64
	lastRandom uint64
)

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
