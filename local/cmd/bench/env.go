package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// stage is what the bootstraps talk to: the emulators the bench runs under, a fresh table,
// a JWKS for the agent verifier and an @connections endpoint that accepts every push.
type stage struct {
	env   []string
	close func()
}

// newStage needs AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SESV2, which the emulators
// runner sets (make bench).
func newStage(ctx context.Context, tmpl *samtemplate.Template) (*stage, error) {
	dynamo, ses := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), os.Getenv("AWS_ENDPOINT_URL_SESV2")
	if dynamo == "" || ses == "" {
		return nil, fmt.Errorf("run under the emulators: go run ./local/cmd/emulators -dynamodb-port 0 -ses-port 0 -- go run ./local/cmd/bench")
	}
	table := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	if err := devdata.CreateTable(ctx, awsclients.DynamoDBAt(awsconfig.Static(region), dynamo), tmpl, table); err != nil {
		return nil, err
	}
	keys, err := devkeys.Generate()
	if err != nil {
		return nil, err
	}
	jwks, err := serve(keys.Handler())
	if err != nil {
		return nil, err
	}
	mgmt, err := serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	if err != nil {
		jwks.Close()
		return nil, err
	}
	// LOG_LEVEL is left alone: the emulator reads it too, and below info it hides the INIT
	// REPORT the cold start is read from.
	env := append(os.Environ(),
		"TABLE_NAME="+table,
		"AWS_REGION="+region, "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"JWKS_URL=http://"+jwks.Addr+"/", "JWT_ISSUER=https://issuer.bench", "JWT_AUDIENCE=bench",
		"WEBSOCKET_MANAGEMENT_URL=http://"+mgmt.Addr,
		// Only the floors call Secrets Manager (functions read PIN_HMAC_SECRET): the stub
		// answers at once rather than a call leaving the machine.
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=http://"+mgmt.Addr,
		"PIN_HMAC_SECRET="+strings.Repeat("bench-secret-", 4),
		"SES_FROM_ADDRESS=invites@example.test",
		"ALLOWED_ORIGINS=https://app.example.test", "DEFAULT_JOIN_PAGE_URL=https://app.example.test/join",
		"DEFAULT_TEAM_ID=",
		// The sample SES notification carries no signature a key made, and the signing
		// certificate is on AWS: the local switch (DynamoDB is local here) skips the check.
		setup.UnsignedSESEventsVar+"=accept",
	)
	return &stage{env: env, close: func() { jwks.Close(); mgmt.Close() }}, nil
}

const region = "us-east-1"

func serve(h http.Handler) (*http.Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Addr: l.Addr().String(), Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, nil
}
