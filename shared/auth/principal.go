// Package auth says who is calling: agents identified by a verified JWT, visitors by an
// opaque session token, and nobody (anonymous). It turns credentials into a Principal; what
// a principal may do to a conversation is decided on the data by the use cases.
package auth

import (
	"github.com/invite-forward/invite-forward/shared/apperror"
)

// PrincipalKind is the kind of caller.
type PrincipalKind string

const (
	Anonymous PrincipalKind = "anonymous"
	Agent     PrincipalKind = "agent"
	Visitor   PrincipalKind = "visitor"
)

// Principal is the authenticated caller of a request. A visitor is bound to exactly one
// conversation and one participant; an agent is identified by the JWT's sub.
type Principal struct {
	Kind           PrincipalKind
	AgentID        string // agents
	ConversationID string // visitors
	ParticipantID  string // visitors
	SessionHash    string // visitors: SHA-256 of the session token, to re-check revocation
	// AuthError, when set, is why presented credentials were refused: the request is then
	// answered 401 with this code, not treated as anonymous.
	AuthError string
}

// IsAgent reports whether the caller is a verified agent.
func (p Principal) IsAgent() bool { return p.Kind == Agent && p.AgentID != "" && p.AuthError == "" }

// IsVisitor reports whether the caller holds a visitor session.
func (p Principal) IsVisitor() bool {
	return p.Kind == Visitor && p.ParticipantID != "" && p.AuthError == ""
}

// CredentialsUnchecked is the AuthError of a caller whose credentials the authorizer could
// not check (its store failed): never anonymous, never let in, answered as our fault.
const CredentialsUnchecked = "credentials_unchecked"

// RequireAuthenticated refuses anonymous callers and callers whose credentials failed.
func (p Principal) RequireAuthenticated() error {
	if p.AuthError == CredentialsUnchecked {
		return apperror.New(apperror.KindUnavailable, CredentialsUnchecked, "we could not check your credentials just now; retry in a moment")
	}
	if p.AuthError != "" {
		return apperror.Unauthenticated(p.AuthError, "the credentials are not valid")
	}
	if !p.IsAgent() && !p.IsVisitor() {
		return apperror.Unauthenticated("unauthenticated", "sign in as an agent or use a visitor session")
	}
	return nil
}

// RequireAgent refuses everyone but verified agents.
func (p Principal) RequireAgent() error {
	if err := p.RequireAuthenticated(); err != nil {
		return err
	}
	if !p.IsAgent() {
		return apperror.Forbidden("agent_only", "only agents may do this")
	}
	return nil
}

// Context keys of the authorizer's context, shared by the authorizer (writer) and the HTTP
// adapter (reader). API Gateway passes the map through as requestContext.authorizer.lambda.
const (
	ctxKind           = "kind"
	ctxAgentID        = "agentId"
	ctxConversationID = "conversationId"
	ctxParticipantID  = "participantId"
	ctxSessionHash    = "sessionHash"
	ctxAuthError      = "authError"
)

// ToContext encodes a principal for an authorizer response.
func (p Principal) ToContext() map[string]any {
	m := map[string]any{ctxKind: string(p.Kind)}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set(ctxAgentID, p.AgentID)
	set(ctxConversationID, p.ConversationID)
	set(ctxParticipantID, p.ParticipantID)
	set(ctxSessionHash, p.SessionHash)
	set(ctxAuthError, p.AuthError)
	return m
}

// FromContext decodes what ToContext wrote. A missing or unknown kind is anonymous.
func FromContext(m map[string]any) Principal {
	get := func(k string) string {
		s, _ := m[k].(string)
		return s
	}
	p := Principal{
		Kind:           PrincipalKind(get(ctxKind)),
		AgentID:        get(ctxAgentID),
		ConversationID: get(ctxConversationID),
		ParticipantID:  get(ctxParticipantID),
		SessionHash:    get(ctxSessionHash),
		AuthError:      get(ctxAuthError),
	}
	switch p.Kind {
	case Agent, Visitor:
	default:
		p.Kind = Anonymous
	}
	return p
}
