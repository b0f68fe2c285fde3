package setup

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/store"
)

// TestRetention_ReadAtInitWithinTheTemplatesBounds: RETENTION_DAYS sets how long an ended
// conversation is kept; unset, the store's default; out of range, the function does not start.
func TestRetention_ReadAtInitWithinTheTemplatesBounds(t *testing.T) {
	t.Setenv(RetentionDaysVar, "")
	if got := retention(); got != store.DefaultRetention {
		t.Errorf("unset: %v, want %v", got, store.DefaultRetention)
	}
	t.Setenv(RetentionDaysVar, "7")
	if got := retention(); got != 7*24*time.Hour {
		t.Errorf("7 days: %v", got)
	}
	for _, bad := range []string{"0", "3651", "seven"} {
		t.Setenv(RetentionDaysVar, bad)
		msg := func() (msg string) {
			defer func() { msg = fmt.Sprint(recover()) }()
			retention()
			return ""
		}()
		if !strings.Contains(msg, RetentionDaysVar) {
			t.Errorf("%s=%s: panic %q, want one naming the variable", RetentionDaysVar, bad, msg)
		}
	}
}

// TestRetention_OutlivesEveryIdempotencyRecord: the shortest retention is longer than a replay
// can come, so no replayed answer speaks of a conversation that is gone.
func TestRetention_OutlivesEveryIdempotencyRecord(t *testing.T) {
	if shortest := time.Duration(Ranges[RetentionDaysVar].Min) * 24 * time.Hour; shortest < idempotency.TTL {
		t.Errorf("retention may be %v, less than an idempotency record's %v", shortest, idempotency.TTL)
	}
}
