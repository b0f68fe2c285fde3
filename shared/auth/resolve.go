package auth

import (
	"context"
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/ids"
)

// AgentTokens verifies agent JWTs (AgentVerifier in production, a test verifier in tests).
type AgentTokens interface {
	Verify(ctx context.Context, bearer string) (Principal, error)
}

// VisitorSessions finds a live visitor session by the hash of its token.
type VisitorSessions interface {
	VisitorSession(ctx context.Context, tokenHash string) (conversationID, participantID string, found bool, err error)
}

// Resolver turns an Authorization header into a Principal. Agents and visitors both send
// "Bearer <credential>": a JWT has three dot-separated parts, a visitor session token is a
// single opaque base64url string, so the shape says which check applies.
type Resolver struct {
	Agents   AgentTokens
	Visitors VisitorSessions
}

// Resolve never fails for bad credentials: it returns a principal carrying AuthError, so the
// action answers 401 with a stable code. Only a failure of ours (storage) is an error.
func (r Resolver) Resolve(ctx context.Context, authorization string) (Principal, error) {
	if strings.TrimSpace(authorization) == "" {
		return Principal{Kind: Anonymous}, nil
	}
	token, ok := BearerToken(authorization)
	if !ok {
		return Principal{Kind: Anonymous, AuthError: "token_malformed"}, nil
	}
	if strings.Count(token, ".") == 2 {
		return r.agent(ctx, token), nil
	}
	return r.visitor(ctx, token)
}

func (r Resolver) agent(ctx context.Context, token string) Principal {
	if r.Agents == nil {
		return Principal{Kind: Agent, AuthError: "token_invalid"}
	}
	p, err := r.Agents.Verify(ctx, token)
	if err != nil {
		return Principal{Kind: Agent, AuthError: apperror.As(err).Code}
	}
	return p
}

func (r Resolver) visitor(ctx context.Context, token string) (Principal, error) {
	// A session token is 32 random bytes in base64url: 43 characters. Anything else cannot
	// be one, and is refused without a lookup.
	if len(token) != 43 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return Principal{Kind: Visitor, AuthError: "token_malformed"}, nil
	}
	hash := ids.Hash(token)
	convID, partID, found, err := r.Visitors.VisitorSession(ctx, hash)
	if err != nil {
		return Principal{}, err
	}
	if !found {
		return Principal{Kind: Visitor, AuthError: "session_invalid"}, nil
	}
	return Principal{Kind: Visitor, ConversationID: convID, ParticipantID: partID, SessionHash: hash}, nil
}
