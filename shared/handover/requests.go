package handover

import (
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// InviteAgentRequest is the body of POST /conversations/{id}/invitations/agent.
type InviteAgentRequest struct {
	AgentID string `json:"agentId"`
	Message string `json:"message,omitempty"`
	Routing
}

// Normalize trims the request and checks it.
func (r *InviteAgentRequest) Normalize() (invitation.Target, error) {
	r.AgentID, r.Message = strings.TrimSpace(r.AgentID), strings.TrimSpace(r.Message)
	return checkTarget(invitation.Target{Kind: invitation.TargetAgent, ID: r.AgentID}, r.Message)
}

// InviteTeamRequest is the body of POST /conversations/{id}/invitations/team.
type InviteTeamRequest struct {
	TeamID  string `json:"teamId"`
	Message string `json:"message,omitempty"`
	Routing
}

// Normalize trims the request and checks it.
func (r *InviteTeamRequest) Normalize() (invitation.Target, error) {
	r.TeamID, r.Message = strings.TrimSpace(r.TeamID), strings.TrimSpace(r.Message)
	return checkTarget(invitation.Target{Kind: invitation.TargetTeam, ID: r.TeamID}, r.Message)
}

// ForwardRequest is the body of POST /conversations/{id}/forward.
type ForwardRequest struct {
	To      ForwardTo `json:"to"`
	Message string    `json:"message,omitempty"`
	Routing
}

// ForwardTo names whom a conversation is forwarded to.
type ForwardTo struct {
	Kind string `json:"kind"` // "agent" or "team"
	ID   string `json:"id"`
}

// Normalize trims the request and checks it.
func (r *ForwardRequest) Normalize() (invitation.Target, error) {
	r.To.Kind, r.To.ID, r.Message = strings.TrimSpace(r.To.Kind), strings.TrimSpace(r.To.ID), strings.TrimSpace(r.Message)
	kind := invitation.TargetKind(r.To.Kind)
	if kind != invitation.TargetAgent && kind != invitation.TargetTeam {
		return invitation.Target{}, apperror.Invalid("invalid_forward_target", `to.kind must be "agent" or "team"`)
	}
	return checkTarget(invitation.Target{Kind: kind, ID: r.To.ID}, r.Message)
}

// DeclineRequest is the body of POST /invitations/{invitationId}/decline.
type DeclineRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Normalize trims the reason and checks it.
func (r *DeclineRequest) Normalize() error {
	r.Reason = strings.TrimSpace(r.Reason)
	return conversation.CheckText("reason", r.Reason, invitation.MaxDeclineReasonLen)
}

// checkTarget refuses a missing or malformed agent or team id, and a message that is too
// long or carries control characters.
func checkTarget(to invitation.Target, message string) (invitation.Target, error) {
	if to.ID == "" {
		return invitation.Target{}, apperror.Invalid(string(to.Kind)+"_id_required", "the "+string(to.Kind)+" id is required")
	}
	if err := ids.Check(string(to.Kind)+" id", to.ID); err != nil {
		return invitation.Target{}, err
	}
	if err := conversation.CheckText("message", message, invitation.MaxMessageLen); err != nil {
		return invitation.Target{}, err
	}
	return to, nil
}

// MessageText is the message for the invited agent or team, as normalized.
func (r *InviteAgentRequest) MessageText() string { return r.Message }

// MessageText is the message for the invited team, as normalized.
func (r *InviteTeamRequest) MessageText() string { return r.Message }

// MessageText is the message for the forward's target, as normalized.
func (r *ForwardRequest) MessageText() string { return r.Message }
