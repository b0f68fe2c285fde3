package testenv

import (
	"errors"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

func TestAsClient_RetriesBusyAnswersOnly(t *testing.T) {
	busy := apperror.Busy("service_busy", "later", time.Millisecond)
	for _, tc := range []struct {
		name    string
		answers []error
		calls   int // the last answer is the one returned
	}{
		{"busy twice, then through", []error{busy, busy, nil}, 3},
		{"busy every time", []error{busy, busy, busy, busy, busy, busy}, 1 + busyRetries},
		{"another refusal is final", []error{errors.New("pin_invalid"), nil}, 1},
	} {
		calls := 0
		_, err := AsClient(func() (int, error) {
			calls++
			return calls, tc.answers[calls-1]
		})
		if calls != tc.calls {
			t.Errorf("%s: %d calls, want %d", tc.name, calls, tc.calls)
		}
		if want := tc.answers[tc.calls-1]; !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", tc.name, err, want)
		}
	}
}
