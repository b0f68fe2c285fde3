package main

import (
	"os"
	"strings"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

// configure sets the environment the functions read, before any of them is built: what must
// point at this local stack is always set; the rest is a local default unless already set.
func configure(u gateway.URLs, emus *emulators.Emulators, table string) error {
	fixed := map[string]string{
		"TABLE_NAME":                table,
		"AWS_ENDPOINT_URL_DYNAMODB": emus.DynamoDB.Endpoint,
		"AWS_ENDPOINT_URL_SESV2":    emus.SES.Endpoint,
		"WEBSOCKET_MANAGEMENT_URL":  u.Management,
		// The functions' own verifier settings, for anything that reads them; the gateway
		// already hands the same verifier to every handler.
		"JWKS_URL":     u.JWKS,
		"JWT_ISSUER":   u.Issuer,
		"JWT_AUDIENCE": gateway.DevAudience,
		// POST /_dev/ses-events hands unsigned SES records to EmailDeliveryFunction (local only).
		"LOCAL_UNSIGNED_SES_EVENTS": "accept",
	}
	defaults := map[string]string{
		"AWS_REGION":            region,
		"AWS_ACCESS_KEY_ID":     "local", // the emulators accept any credentials
		"AWS_SECRET_ACCESS_KEY": "local",
		"ALLOWED_ORIGINS":       strings.Join(gateway.DefaultOrigins(u), ","),
		"DEFAULT_JOIN_PAGE_URL": u.Demo + "join.html",
		"DEFAULT_TEAM_ID":       "support",
		"SES_FROM_ADDRESS":      "invites@example.test",
	}
	for k, v := range fixed {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	for k, v := range defaults {
		if os.Getenv(k) != "" {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}
