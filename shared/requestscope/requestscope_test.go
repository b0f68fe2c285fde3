package requestscope_test

import (
	"context"
	"errors"
	"testing"

	"github.com/invite-forward/invite-forward/shared/requestscope"
)

// A read done ahead answers the request's first ReadOnce; every later one reads again (a
// retry within the request must see what its last attempt left), and so does a request
// without a scope.
func TestReadOnce_TakesTheReadDoneAheadOnceThenReadsNow(t *testing.T) {
	reads := 0
	read := func(context.Context) (int, error) { reads++; return reads, nil }
	ctx := requestscope.New(context.Background())
	requestscope.ReadAhead(ctx, "k", read)
	for i, want := range []int{1, 2, 3} {
		if got, err := requestscope.ReadOnce(ctx, "k", read); got != want || err != nil {
			t.Fatalf("ReadOnce #%d = %d, %v; want %d", i, got, err, want)
		}
	}
	failed := errors.New("read failed")
	requestscope.ReadAhead(ctx, "e", func(context.Context) (int, error) { return 0, failed })
	if _, err := requestscope.ReadOnce(ctx, "e", read); !errors.Is(err, failed) {
		t.Fatalf("the error read ahead was not kept: %v", err)
	}
	bare := context.Background()
	requestscope.ReadAhead(bare, "k", read)
	if got, _ := requestscope.ReadOnce(bare, "k", read); got != reads {
		t.Fatalf("without a scope ReadOnce answered %d, not a read of its own", got)
	}
}

// ReadAndKeep leaves what it answered for the next ReadOnce of the key, which reads nothing;
// the one after that reads again.
func TestReadAndKeep_LeavesItsAnswerForTheNextReader(t *testing.T) {
	reads := 0
	read := func(context.Context) (int, error) { reads++; return reads, nil }
	ctx := requestscope.New(context.Background())
	if got, err := requestscope.ReadAndKeep(ctx, "k", read); got != 1 || err != nil {
		t.Fatalf("ReadAndKeep = %d, %v; want 1", got, err)
	}
	for i, want := range []int{1, 2} {
		if got, err := requestscope.ReadOnce(ctx, "k", read); got != want || err != nil {
			t.Fatalf("ReadOnce #%d after ReadAndKeep = %d, %v; want %d", i, got, err, want)
		}
	}
}
