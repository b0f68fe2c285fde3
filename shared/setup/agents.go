package setup

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/config"
)

// newAgentVerifier builds the JWT verifier from JWKS_URL, JWT_ISSUER and JWT_AUDIENCE
// (comma-separated: several app clients may call the API). The JWKS is fetched once and
// cached across invocations.
func newAgentVerifier() auth.AgentTokens {
	v, err := auth.NewAgentVerifier(context.Background(), auth.AgentVerifierConfig{
		JWKSURL:   config.Required("JWKS_URL"),
		Issuer:    config.Required("JWT_ISSUER"),
		Audiences: config.List("JWT_AUDIENCE"),
	})
	if err != nil {
		panic(err)
	}
	return v
}
