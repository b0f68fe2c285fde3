// Package awsclients builds the AWS SDK clients every function uses, once at init. Endpoints
// come from the SDK's own environment variables (AWS_ENDPOINT_URL_DYNAMODB, …), which is how
// the local emulators are reached; in AWS they are unset and the SDK uses the regional
// endpoints. Clients only some functions use live in their own packages (secrets,
// mail/sesmail), so that the others do not link those services.
package awsclients

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
)

// MaxIdleConnsPerHost is how many connections to one endpoint each function keeps open
// between calls. The SDK's default (10) is below the push fan-out's parallelism
// (push.DefaultConcurrency, 16), so every fan-out would open and close connections — a TLS
// handshake each — instead of reusing them.
const MaxIdleConnsPerHost = 32

// Load reads the shared AWS configuration (region, credentials, endpoint overrides).
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(httpClient()))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// httpClient is the SDK's own client with a larger idle pool.
func httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(t.MaxIdleConns, MaxIdleConnsPerHost)
		t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	})
}

// MustLoad is Load for a function's init: without configuration there is nothing to serve.
func MustLoad() aws.Config {
	cfg, err := Load(context.Background())
	if err != nil {
		panic(err)
	}
	return cfg
}

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

// Management returns a client for a WebSocket API's @connections endpoint
// (https://{api-id}.execute-api.{region}.amazonaws.com/{stage}, or the local gateway).
func Management(cfg aws.Config, endpoint string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.APIOptions = append(o.APIOptions, faults.Middleware, idempotency.Middleware)
	})
}

// Static returns a configuration with fixed dummy credentials for talking to local emulators,
// which accept any signature.
func Static(region string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(staticCreds{}),
		HTTPClient:  httpClient(),
	}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "awsclients.Static"}, nil
}
