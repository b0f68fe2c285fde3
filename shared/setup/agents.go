package setup

import "github.com/invite-forward/invite-forward/shared/auth"

// newAgentVerifier is wired to auth.NewAgentVerifier once that lands.
func newAgentVerifier() auth.AgentTokens { return nil }
