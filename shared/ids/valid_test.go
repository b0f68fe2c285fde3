package ids

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
)

func TestValid_AcceptsTheProductsIdsAndRefusesTheRest(t *testing.T) {
	for _, id := range []string{New("conv"), New("inv"), "ada", "support", "8f14e45f-ceea-467f-a0e6-1b2c3d4e5f60", "ada@example.com", strings.Repeat("a", MaxIDLen)} {
		if !Valid(id) {
			t.Errorf("Valid(%q) = false", id)
		}
	}
	for _, id := range []string{"", strings.Repeat("a", MaxIDLen+1), strings.Repeat("a", 3000), "../x", "-leading", "a b", "a/b", "a\x00b", "a\nb", "é", "conv_%2e%2e"} {
		if Valid(id) {
			t.Errorf("Valid(%q) = true", id)
		}
	}
}

func TestCheck_NamesTheFieldWithAStableCode(t *testing.T) {
	err := Check("teamId", strings.Repeat("x", 2049))
	if err == nil || !strings.Contains(err.Error(), "invalid_id") || !strings.Contains(err.Error(), "teamId") {
		t.Fatalf("Check = %v", err)
	}
}

// idPattern is the rule Valid hand-codes, as the pattern the spec's words translate to: the
// fuzz target holds Valid to it.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$`)

// FuzzValid: whatever the input, Valid says what the pattern says, and a valid id is short,
// printable ASCII without spaces or slashes, so it is safe in a DynamoDB key, a log line and a
// URL path.
func FuzzValid(f *testing.F) {
	for _, seed := range []string{"conv_abc", "", "../../etc/passwd", strings.Repeat("z", 200), "a\u2028b", "ada@example.com", "a.b_c@d:e-f", "Z9", strings.Repeat("a", MaxIDLen), "_x", ".x", "x\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) != idPattern.MatchString(s) {
			t.Fatalf("Valid(%q) = %v, the pattern says %v", s, Valid(s), idPattern.MatchString(s))
		}
		if !Valid(s) {
			return
		}
		if len(s) == 0 || len(s) > MaxIDLen {
			t.Fatalf("valid id of %d bytes", len(s))
		}
		for _, r := range s {
			if r > unicode.MaxASCII || r <= ' ' || r == '/' || r == '%' {
				t.Fatalf("valid id %q holds %q", s, r)
			}
		}
	})
}
