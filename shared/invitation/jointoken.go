package invitation

import (
	"fmt"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/shared/ids"
)

// Join token lifetimes: an email may sit unread for a while, so hours, but not forever.
const (
	DefaultJoinTokenTTL = 24 * time.Hour
	MaxJoinTokenTTL     = 7 * 24 * time.Hour
)

// CheckJoinTokenTTL refuses a join-token lifetime outside 1 hour … 7 days.
func CheckJoinTokenTTL(ttl time.Duration) error {
	if ttl < time.Hour || ttl > MaxJoinTokenTTL {
		return fmt.Errorf("invitation: join token lifetime %s is outside 1h…%s", ttl, MaxJoinTokenTTL)
	}
	return nil
}

// NewJoinToken returns a 256-bit random join token and the SHA-256 under which it is stored.
// A token this long needs no key: nobody can try 2^256 values.
func NewJoinToken() (token, hash string) {
	token = ids.Token()
	return token, ids.Hash(token)
}

// joinTokenLen is the length of ids.Token: 32 bytes in unpadded base64url.
const joinTokenLen = 43

// LooksLikeJoinToken reports whether s has the shape of a join token, so that anything else
// is refused without a lookup.
func LooksLikeJoinToken(s string) bool {
	return len(s) == joinTokenLen &&
		strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}
