package streambatch

import (
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Every job runs, never more than atOnce at a time, and exactly the failed ones are reported.
func TestRun_ReportsTheFailedRecordsAndBoundsTheWork(t *testing.T) {
	const atOnce = 3
	var (
		mu             sync.Mutex
		running, most  int
		ran            []string
		gate           = make(chan struct{})
		jobs           []Job
		wantFailures   []string
		errUnreachable = errors.New("the store did not answer")
	)
	for i := range 20 {
		seq := strconv.Itoa(i)
		fails := i%4 == 1
		if fails {
			wantFailures = append(wantFailures, seq)
		}
		jobs = append(jobs, Job{SequenceNumber: seq, Run: func() error {
			mu.Lock()
			running++
			most = max(most, running)
			ran = append(ran, seq)
			mu.Unlock()
			<-gate
			mu.Lock()
			running--
			mu.Unlock()
			if fails {
				return errUnreachable
			}
			return nil
		}})
	}
	done := make(chan events.DynamoDBEventResponse)
	go func() { done <- Run(jobs, atOnce) }()
	for started := 0; started < atOnce; { // the first atOnce jobs start and wait at the gate
		runtime.Gosched()
		mu.Lock()
		started = len(ran)
		mu.Unlock()
	}
	mu.Lock()
	early := len(ran)
	mu.Unlock()
	close(gate)
	resp := <-done
	if early != atOnce {
		t.Fatalf("%d jobs started while %d held their slots; the limit is %d", early, atOnce, atOnce)
	}
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	slices.Sort(got)
	slices.Sort(wantFailures)
	if !slices.Equal(got, wantFailures) || len(ran) != len(jobs) || most > atOnce {
		t.Fatalf("failures %v (want %v), %d of %d ran, at most %d at once (limit %d)", got, wantFailures, len(ran), len(jobs), most, atOnce)
	}
}

// A batch without failures answers an empty list, never null: Lambda reads null as a
// malformed response, an empty list as "all done".
func TestRun_NoFailuresIsAnEmptyList(t *testing.T) {
	resp := Run(nil, 2)
	if resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("BatchItemFailures = %#v, want an empty list", resp.BatchItemFailures)
	}
}
