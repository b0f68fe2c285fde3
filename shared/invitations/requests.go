package invitations

import (
	"strings"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/mail"
)

// EmailRequest is the body of POST /conversations/{id}/invitations/email.
type EmailRequest struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"` // the customer's name as the agent knows it
	Note  string `json:"note,omitempty"` // a note from the agent, shown in the email
	// Admit: "none" (default), "agent" or "customer" — who lets the invitee in (SPEC §9.3).
	Admit string `json:"admit,omitempty"`
}

// PINRequest is the body of POST /conversations/{id}/invitations/pin; a bare POST is {}.
type PINRequest struct {
	// Admit: "none" (default), "agent" or "customer" — who lets the invitee in (SPEC §9.3).
	Admit string `json:"admit,omitempty"`
}

// Normalize checks admit.
func (r *PINRequest) Normalize() error {
	a, err := conversation.ParseAdmit(r.Admit)
	r.Admit = string(a)
	return err
}

// Normalize reduces the address to one plain address (no lists, no header injection) and
// checks the name and note.
func (r *EmailRequest) Normalize() error {
	addr, err := mail.ParseAddress(r.Email)
	if err != nil {
		return err
	}
	r.Email = addr
	r.Name = strings.TrimSpace(r.Name)
	r.Note = strings.TrimSpace(r.Note)
	if err := conversation.CheckText("name", r.Name, invitation.MaxNameLen); err != nil {
		return err
	}
	if err := conversation.CheckText("note", r.Note, invitation.MaxNoteLen); err != nil {
		return err
	}
	a, err := conversation.ParseAdmit(r.Admit)
	r.Admit = string(a)
	return err
}

// RedeemPINRequest is the body of POST /join/pin.
type RedeemPINRequest struct {
	PIN         string `json:"pin"`
	DisplayName string `json:"displayName,omitempty"`
}

// Normalize checks the display name. The PIN itself is checked only after the rate limit,
// so that a caller over the limit learns nothing about what it typed.
func (r *RedeemPINRequest) Normalize() error {
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	return conversation.CheckDisplayName(r.DisplayName)
}

// RedeemJoinTokenRequest is the body of POST /join/token.
type RedeemJoinTokenRequest struct {
	Token       string `json:"token"`
	DisplayName string `json:"displayName,omitempty"`
}

// Normalize checks the display name; the token is checked after the rate limit.
func (r *RedeemJoinTokenRequest) Normalize() error {
	r.Token = strings.TrimSpace(r.Token)
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	return conversation.CheckDisplayName(r.DisplayName)
}
