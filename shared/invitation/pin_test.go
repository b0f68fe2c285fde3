package invitation

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPIN_DigitsOnlyOfTheConfiguredLength(t *testing.T) {
	for length := MinPINLength; length <= MaxPINLength; length++ {
		for range 50 {
			pin := NewPIN(length)
			if len(pin) != length || strings.Trim(pin, "0123456789") != "" {
				t.Fatalf("NewPIN(%d) = %q", length, pin)
			}
		}
	}
}

// The draws at or above the largest multiple of 10^length below 2^64 are rejected: taking
// them modulo 10^length would favour the smallest PINs.
func TestPIN_RejectsDrawsThatWouldBiasTheModulo(t *testing.T) {
	const length = 9
	space := pow10(length)
	firstBiased := math.MaxUint64 - (math.MaxUint64%space+1)%space + 1 // the smallest rejected draw
	draws := []uint64{math.MaxUint64, firstBiased, firstBiased - 1}
	used := 0
	pin := newPIN(length, func() uint64 { used++; return draws[used-1] })
	if used != 3 {
		t.Fatalf("used %d draws, want the first two rejected", used)
	}
	if want := (firstBiased - 1) % space; pin != padded(want, length) {
		t.Fatalf("pin = %s, want %s", pin, padded(want, length))
	}
	if firstBiased%space != 0 {
		t.Fatalf("the accepted range is not a whole number of PIN spaces")
	}
}

func TestPIN_KeepsLeadingZeros(t *testing.T) {
	pin := newPIN(6, func() uint64 { return 42 })
	if pin != "000042" {
		t.Fatalf("pin = %q", pin)
	}
}

// A rough check that every digit appears about equally often in every position: 20,000 PINs
// of 9 digits, each count within ±15% of the expected 2,000.
func TestPIN_DigitsAreUniform(t *testing.T) {
	const n, length = 20000, 9
	var counts [length][10]int
	for range n {
		for i, c := range NewPIN(length) {
			counts[i][c-'0']++
		}
	}
	for pos := range counts {
		for d, c := range counts[pos] {
			if c < n/10*85/100 || c > n/10*115/100 {
				t.Errorf("digit %d at position %d: %d of %d", d, pos, c, n)
			}
		}
	}
}

func TestNormalizePIN_AcceptsGroupedDigitsOnly(t *testing.T) {
	cases := []struct {
		typed, want string
		ok          bool
	}{
		{"123456789", "123456789", true},
		{"123 456 789", "123456789", true},
		{" 123-456-789 ", "123456789", true},
		{"12345678", "", false},
		{"1234567890", "", false},
		{"12345678a", "", false},
		{"１２３４５６７８９", "", false}, // full-width digits are not ASCII digits
		{"123456789\n", "", false},
		{strings.Repeat(" ", 100) + "123456789", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := NormalizePIN(c.typed, 9)
		if ok != c.ok || got != c.want {
			t.Errorf("NormalizePIN(%q) = %q, %v; want %q, %v", c.typed, got, ok, c.want, c.ok)
		}
	}
}

func TestPINKey_IsAnHMACThatDependsOnTheSecret(t *testing.T) {
	a, err := NewPINKey([]byte(strings.Repeat("a", 64)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewPINKey([]byte(strings.Repeat("b", 64)))
	if a.Hash("123456789") == b.Hash("123456789") {
		t.Fatal("the hash does not depend on the secret")
	}
	again, _ := NewPINKey([]byte(strings.Repeat("a", 64)))
	if a.Hash("123456789") != again.Hash("123456789") || a.Hash("123456789") == a.Hash("123456788") {
		t.Fatal("the hash is not a function of the PIN")
	}
	if len(a.Hash("1")) != 64 {
		t.Fatal("not a hex SHA-256 sized digest")
	}
	if _, err := NewPINKey([]byte("short")); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// A known answer computed independently: HMAC-SHA256(secret, "invite-forward/pin/v1\x00" + PIN).
func TestPINKey_KnownAnswer(t *testing.T) {
	k, _ := NewPINKey([]byte(strings.Repeat("a", 64)))
	const want = "577f27cdb4349a5d1dccac6aa86303843971738fac35c5b8a41abf8c1d155ec9"
	if got := k.Hash("123456789"); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
}

func TestPINSettings_LifetimeAtMostTenMinutes(t *testing.T) {
	if err := CheckPINSettings(DefaultPINLength, DefaultPINTTL); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, c := range []struct {
		length int
		ttl    time.Duration
	}{{5, time.Minute}, {19, time.Minute}, {9, 11 * time.Minute}, {9, 30 * time.Second}} {
		if CheckPINSettings(c.length, c.ttl) == nil {
			t.Errorf("length %d, lifetime %s accepted", c.length, c.ttl)
		}
	}
}

func TestJoinToken_ShapeAndHash(t *testing.T) {
	tok, hash := NewJoinToken()
	if !LooksLikeJoinToken(tok) || len(hash) != 64 || hash == tok {
		t.Fatalf("token %q hash %q", tok, hash)
	}
	for _, bad := range []string{"", tok[:42], tok + "A", strings.Repeat("!", 43), strings.Repeat("=", 43)} {
		if LooksLikeJoinToken(bad) {
			t.Errorf("LooksLikeJoinToken(%q) = true", bad)
		}
	}
}

func padded(n uint64, length int) string { return fmt.Sprintf("%0*d", length, n) }
