package invitations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Resent answers a resend: the invitation is pending again until ExpiresAt. For a PIN
// invitation it carries the new PIN, shown once.
type Resent struct {
	InvitationID string            `json:"invitationId"`
	Status       invitation.Status `json:"status"`
	ExpiresAt    time.Time         `json:"expiresAt"`
	PIN          string            `json:"pin,omitempty"`
	// Delivery is the new email's, for an email invitation.
	Delivery invitation.Delivery `json:"delivery,omitempty"`
}

// Resend renews a customer invitation: POST /conversations/{id}/invitations/{invitationId}/resend.
// A PIN invitation gets a new PIN; an email invitation is sent again with a new join token.
// Either way the old secret stops working at once. A pending, expired or failed invitation
// can be renewed; a redeemed or revoked one cannot (409), nor an email whose address bounced
// or complained (409 email_bounced).
func (s *Service) Resend(ctx context.Context, p auth.Principal, conversationID, invitationID string) (Resent, error) {
	acc, err := s.authorizeOpen(ctx, p, conversationID)
	if err != nil {
		return Resent{}, err
	}
	inv, err := s.load(ctx, conversationID, invitationID)
	if err != nil {
		return Resent{}, err
	}
	if err := inv.CheckRenewable(s.now()); err != nil {
		return Resent{}, err
	}
	if inv.Kind == invitation.KindPIN {
		return s.renewPIN(ctx, acc, inv)
	}
	if err := inv.CheckResendable(); err != nil {
		return Resent{}, err
	}
	return s.resendEmail(ctx, acc, inv)
}
