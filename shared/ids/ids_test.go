package ids

import (
	"strings"
	"testing"
	"time"
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

func TestSortable_OrdersByTime(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	a, b := Sortable(t0), Sortable(t0.Add(time.Millisecond))
	if !(a < b) {
		t.Fatalf("%s should sort before %s", a, b)
	}
}

func TestSortable_IncreasesWithinOneMillisecond(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	prev := Sortable(at)
	for i := 0; i < 1000; i++ {
		next := Sortable(at)
		if next <= prev {
			t.Fatalf("%s does not sort after %s", next, prev)
		}
		prev = next
	}
}
