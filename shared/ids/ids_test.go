package ids

import (
	"strings"
	"testing"
)

func TestToken_Is256BitsURLSafeAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := Token()
		if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q is not 32 bytes of base64url", tok)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
}

func TestHash_IsHexSHA256AndNotTheToken(t *testing.T) {
	tok := Token()
	h := Hash(tok)
	if len(h) != 64 || h == tok || Hash(tok) != h {
		t.Fatalf("Hash(%q) = %q", tok, h)
	}
}
