package invitations

import (
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// PINIssued answers a new PIN: shown once to the agent, who passes it on. It is stored only
// as its HMAC.
type PINIssued struct {
	InvitationID string    `json:"invitationId"`
	PIN          string    `json:"pin"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// CreatePIN invites a customer by PIN: POST /conversations/{id}/invitations/pin.
func (s *Service) CreatePIN(ctx context.Context, p auth.Principal, conversationID string, req PINRequest) (PINIssued, error) {
	if s.PINKey == nil {
		return PINIssued{}, errNotConfigured("the PIN key")
	}
	if err := req.Normalize(); err != nil {
		return PINIssued{}, err
	}
	acc, err := s.authorizeOpen(ctx, p, conversationID)
	if err != nil {
		return PINIssued{}, err
	}
	now := s.now()
	if err := checkRoom(acc.Head); err != nil {
		return PINIssued{}, err
	}
	inv := invitation.Invitation{
		ID: ids.New("inv"), ConversationID: conversationID, Kind: invitation.KindPIN,
		Status: invitation.StatusPending, CreatedBy: p.AgentID, CreatedAt: now,
		ExpiresAt: invitation.ValidUntil(now, s.Config.PINTTL), Admit: lobbyAdmit(req.Admit),
	}
	events := []conversation.Event{invitation.CreatedEvent(inv, acc.Participant.ID, now)}
	pin, err := s.withFreshPIN(func(_, hash string) error {
		inv.SecretHash = hash
		return s.Store.CreateInvitation(ctx, inv, events)
	})
	if err != nil {
		return PINIssued{}, writeError(err)
	}
	return PINIssued{InvitationID: inv.ID, PIN: pin, ExpiresAt: inv.ExpiresAt}, nil
}

// lobbyAdmit is what an invitation records of a valid admit: who lets the invitee in, or
// nothing for "none".
func lobbyAdmit(admit string) conversation.Admit {
	if a := conversation.Admit(admit); a.Lobby() {
		return a
	}
	return ""
}

// maxPINDraws bounds the draws for a PIN no live invitation holds. With 1,000 live PINs among
// 10^9 a draw collides with probability 10^-6, so a second draw is already rare.
const maxPINDraws = 5

// withFreshPIN draws PINs until write stores one (write fails on "secret" while the PIN is
// live for another invitation) and returns it.
func (s *Service) withFreshPIN(write func(pin, hash string) error) (string, error) {
	for range maxPINDraws {
		pin := invitation.NewPIN(s.Config.PINLength)
		err := write(pin, s.PINKey.Hash(pin))
		if store.FailedOn(err, "secret") {
			continue
		}
		if err != nil {
			return "", err
		}
		return pin, nil
	}
	return "", errors.New("invitations: no free PIN after several draws; is PIN_LENGTH too small?")
}

// renewPIN issues a new PIN for the same invitation; the old one stops working at once.
func (s *Service) renewPIN(ctx context.Context, acc conversations.Access, inv invitation.Invitation) (Resent, error) {
	if s.PINKey == nil {
		return Resent{}, errNotConfigured("the PIN key")
	}
	now := s.now()
	expires := invitation.ValidUntil(now, s.Config.PINTTL)
	var renewed invitation.Invitation
	var events []conversation.Event
	var resent Resent
	_, err := s.withFreshPIN(func(pin, hash string) error {
		renewed = inv.Renewed(hash, now, expires)
		events = []conversation.Event{invitation.ResentEvent(renewed, acc.Participant.ID, now)}
		resent = Resent{InvitationID: inv.ID, Status: renewed.Status, ExpiresAt: renewed.ExpiresAt, PIN: pin}
		// The renewal is the resend's last write: it records the answer (idempotency.Answering).
		return s.Store.RenewInvitation(idempotency.Answering(ctx, resent), inv, renewed, events)
	})
	if err != nil {
		return Resent{}, writeError(err)
	}
	return resent, nil
}
