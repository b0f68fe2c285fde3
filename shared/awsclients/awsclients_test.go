package awsclients_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
)

// TestRetries_OneCallsFailuresNeverRefuseAnothersRetries: against a DynamoDB that answers
// every call with a retryable 500, each of many calls at once gets all its attempts. With the
// SDK's client-side retry quota (500 tokens, 5 a retry), 60 calls at once would drain it and
// the late ones fail after one attempt with "retry quota exceeded".
func TestRetries_OneCallsFailuresNeverRefuseAnothersRetries(t *testing.T) {
	var hits atomic.Int64
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"waiting for a lock"}`))
	}))
	defer busy.Close()
	db := awsclients.DynamoDBAt(awsconfig.Static("us-east-1"), busy.URL)
	const calls = 60
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			_, _ = db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "k"}, "sk": &types.AttributeValueMemberS{Value: "k"}}})
		})
	}
	wg.Wait()
	if got, want := hits.Load(), int64(calls*retry.DefaultMaxAttempts); got != want {
		t.Fatalf("%d attempts reached DynamoDB, want %d (%d calls × %d attempts)", got, want, calls, retry.DefaultMaxAttempts)
	}
}
