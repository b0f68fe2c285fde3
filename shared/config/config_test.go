package config

import (
	"strings"
	"testing"
	"time"
)

func TestIntIn_RefusesAValueOutsideItsRangeNamingTheVariable(t *testing.T) {
	t.Setenv("PIN_LENGTH", "5")
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "PIN_LENGTH=5") || !strings.Contains(msg, "between 6 and 18") {
			t.Errorf("panic %q, want the variable, its value and its bounds", msg)
		}
	}()
	IntIn("PIN_LENGTH", 9, Range{6, 18})
	t.Error("an out-of-range value was accepted")
}

func TestIntIn_AcceptsTheBoundsAndTheDefault(t *testing.T) {
	t.Setenv("PIN_TTL_MINUTES", "10")
	if got := Minutes("PIN_TTL_MINUTES", 5, Range{1, 10}); got != 10*time.Minute {
		t.Errorf("Minutes = %v", got)
	}
	t.Setenv("PIN_TTL_MINUTES", "")
	if got := IntIn("PIN_TTL_MINUTES", 5, Range{1, 10}); got != 5 {
		t.Errorf("default = %d", got)
	}
}

// panicOf runs f and returns its panic message, "" if it did not panic.
func panicOf(f func()) (msg string) {
	defer func() { msg, _ = recover().(string) }()
	f()
	return ""
}

func TestCheck_RefusesAStringOutsideItsRuleNamingTheVariable(t *testing.T) {
	origins := Rule{Pattern: `^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$`, List: true}
	t.Setenv("IF_TEST_ORIGINS", "https://a.example, https://b.example:8443")
	if msg := panicOf(func() { Check("IF_TEST_ORIGINS", origins, false) }); msg != "" {
		t.Fatalf("valid list refused: %s", msg)
	}
	t.Setenv("IF_TEST_ORIGINS", "https://a.example,https://evil.example/path")
	if msg := panicOf(func() { Check("IF_TEST_ORIGINS", origins, false) }); !strings.Contains(msg, "IF_TEST_ORIGINS") || !strings.Contains(msg, "evil") {
		t.Fatalf("a bad item: %q", msg)
	}
	mode := Rule{Values: []string{"on-accept", "immediate"}}
	t.Setenv("IF_TEST_MODE", "eventually")
	if msg := panicOf(func() { Check("IF_TEST_MODE", mode, false) }); !strings.Contains(msg, "one of on-accept, immediate") {
		t.Fatalf("a value not allowed: %q", msg)
	}
	t.Setenv("IF_TEST_MODE", "")
	if msg := panicOf(func() { Check("IF_TEST_MODE", mode, false) }); msg != "" {
		t.Fatalf("unset is the default, not an error: %q", msg)
	}
}

func TestCheck_ALocalPatternOnlyAgainstTheEmulators(t *testing.T) {
	jwks := Rule{Pattern: `^https://\S+$`, Local: `^http://\S+$`}
	t.Setenv("IF_TEST_JWKS", "http://127.0.0.1:4000/_dev/jwks.json")
	if msg := panicOf(func() { Check("IF_TEST_JWKS", jwks, true) }); msg != "" {
		t.Fatalf("local run refused: %s", msg)
	}
	if msg := panicOf(func() { Check("IF_TEST_JWKS", jwks, false) }); msg == "" {
		t.Fatal("a deployed function took a JWKS over plain HTTP")
	}
}

// TestCheck_MaxLengthCountsCharacters, as CloudFormation's MaxLength does: 80 letters of any
// script pass, the 81st is refused with the bound named.
func TestCheck_MaxLengthCountsCharacters(t *testing.T) {
	company := Rule{Pattern: `^[^\r\n<>]*$`, MaxLength: 80}
	t.Setenv("IF_TEST_COMPANY", strings.Repeat("é", 80))
	if msg := panicOf(func() { Check("IF_TEST_COMPANY", company, false) }); msg != "" {
		t.Fatalf("80 characters (160 bytes) refused: %s", msg)
	}
	t.Setenv("IF_TEST_COMPANY", strings.Repeat("é", 81))
	if msg := panicOf(func() { Check("IF_TEST_COMPANY", company, false) }); !strings.Contains(msg, "at most 80 characters") {
		t.Fatalf("81 characters: %q", msg)
	}
}
