// Package awsclients builds the DynamoDB client, once at init, with the middleware every
// function's calls go through (round-trip counting, injected faults, a deadline per call,
// busy answers). The endpoint comes from the SDK's own environment variables
// (AWS_ENDPOINT_URL_DYNAMODB, …), which is how DynamoDB Local is reached; in AWS it is unset
// and the SDK uses the regional endpoint. Clients only some functions use live in their own
// packages (awsclients/secrets, mail/sesmail, wsapi), so that the others do not link those
// services; the configuration they share is awsconfig.
package awsclients

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
)

// DynamoDB returns a DynamoDB client. DYNAMODB_ENDPOINT (declared, empty, in the template so
// that `sam local` can set it from an env-vars file) or the SDK's AWS_ENDPOINT_URL_DYNAMODB
// point it at DynamoDB Local, which omits the CRC32 header on error responses: response
// checksum validation is then off.
func DynamoDB(cfg aws.Config) *dynamodb.Client {
	if endpoint := os.Getenv("DYNAMODB_ENDPOINT"); endpoint != "" {
		return DynamoDBAt(cfg, endpoint)
	}
	local := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return dynamodb.NewFromConfig(cfg, instrument, func(o *dynamodb.Options) {
		if local {
			o.DisableValidateResponseChecksum = true
		}
	})
}

// DynamoDBAt returns a DynamoDB client for an explicit endpoint (tests and local tools).
func DynamoDBAt(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, instrument, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	})
}

// instrument lets a request's context count its DynamoDB calls (shared/roundtrips) and, in
// tests and the local stack, fail chosen ones (shared/faults); without either in the context
// a call costs two context lookups more. Each call gets its own deadline (deadline.go),
// outside the faults so that it bounds an injected delay like a real hang; then a call that
// failed for being too much at once becomes a designed 503 (busy.go); outermost, a keyed
// action's speculation refuses what it cannot hold (idempotency.Middleware).
//
// Retries have no client-side quota: the SDK's standard retryer spends a token bucket shared
// by every call of a client, so in a process that serves many requests at once (the local
// gateway, a test package) one request's failures would refuse another's retries ("retry
// quota exceeded") — DynamoDB Local answers lock timeouts as retryable 500s. A Lambda
// instance serves one request at a time, where the quota protects nothing; each call stays
// bounded by MaxAttempts and its deadline.
func instrument(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, roundtrips.Middleware, faults.Middleware, boundCalls, markBusy, idempotency.Middleware)
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.RateLimiter = ratelimit.None })
}
