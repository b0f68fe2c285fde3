// Package streambatch works a batch of DynamoDB stream records the way Lambda's event source
// mapping expects with ReportBatchItemFailures: independent pieces of work at once, bounded,
// and the records whose work failed reported back so that Lambda retries from the first of
// them (the push function and the end's cleanup both do this).
package streambatch

import (
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// Job is one piece of a batch's work and the stream record it answers for: if Run fails,
// Lambda retries the batch from that record on.
type Job struct {
	SequenceNumber string
	Run            func() error
}

// Run runs the jobs, at most atOnce at a time, and answers Lambda with the records of those
// that failed. The list is never null: Lambda reads an empty list as "all done".
func Run(jobs []Job, atOnce int) events.DynamoDBEventResponse {
	var (
		mu       sync.Mutex
		failures = []events.DynamoDBBatchItemFailure{}
		wg       sync.WaitGroup
		slots    = make(chan struct{}, atOnce)
	)
	for _, job := range jobs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := job.Run(); err != nil {
				mu.Lock()
				failures = append(failures, events.DynamoDBBatchItemFailure{ItemIdentifier: job.SequenceNumber})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return events.DynamoDBEventResponse{BatchItemFailures: failures}
}
