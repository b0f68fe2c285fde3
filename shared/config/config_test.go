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
