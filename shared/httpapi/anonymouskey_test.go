package httpapi

import (
	"regexp"
	"strings"
	"testing"
)

// anonymousKeyPattern is the rule checkAnonymousKey hand-codes, as a pattern: the fuzz target
// holds the code to it.
var anonymousKeyPattern = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9_-]{22,255})$`)

// FuzzCheckAnonymousKey: an anonymous key is accepted exactly when it is a UUID or 22 to 255
// URL-safe characters — at the edges too (21, 22, 255, 256 characters; "+" and "/" of plain
// base64; a byte past ASCII).
func FuzzCheckAnonymousKey(f *testing.F) {
	for _, seed := range []string{"", "0f8e2a6c-4b1d-4c3e-9f7a-2d5b8e1c6a94", strings.Repeat("a", 21), strings.Repeat("a", 22),
		strings.Repeat("Z9_-", 63) + "abc", strings.Repeat("Z9_-", 64), strings.Repeat("a", 21) + "+", strings.Repeat("a", 21) + "/",
		strings.Repeat("a", 21) + "é", "0f8e2a6c-4b1d-4c3e-9f7a-2d5b8e1c6a9"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		accepted := checkAnonymousKey(key) == nil
		if want := anonymousKeyPattern.MatchString(key); accepted != want {
			t.Fatalf("checkAnonymousKey(%q) accepts: %v, want %v", key, accepted, want)
		}
	})
}
