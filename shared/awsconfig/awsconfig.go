// Package awsconfig loads the AWS SDK configuration every function's clients share, with
// an HTTP client whose idle pool holds a push fan-out. It links no AWS service: each
// function's own clients come from awsclients (DynamoDB), awsclients/secrets, mail/sesmail
// and wsapi.
package awsconfig

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
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
	return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "awsconfig.Static"}, nil
}
