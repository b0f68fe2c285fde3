package invitations

import (
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/outcome"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Joined answers a redemption: the customer is now a participant and holds a visitor session
// token, its only credential (shown once, stored only as a hash). State is "waiting" when the
// invitation makes them wait to be let in (SPEC §9.3), until WaitingUntil at the latest.
type Joined struct {
	ConversationID string                        `json:"conversationId"`
	ParticipantID  string                        `json:"participantId"`
	SessionToken   string                        `json:"sessionToken"`
	ExpiresAt      time.Time                     `json:"expiresAt"`
	State          conversation.ParticipantState `json:"state"`
	WaitingUntil   time.Time                     `json:"waitingUntil,omitzero"`
}

// errRefused is a redemption that did not work, for whatever reason; callers turn it into the
// one answer of their secret kind (pin_invalid, join_token_invalid).
var errRefused = errors.New("invitations: redemption refused")

// RedeemPIN joins a customer by PIN: POST /join/pin. A PIN of the wrong shape is bad input
// and costs nothing. Failed guesses are limited per client and deployment-wide (README, "Why
// PINs cannot be guessed"), and the limits are checked before the PIN is looked at: over a
// limit, a right PIN gets 429 like a wrong one. Unknown, mistyped, expired, used and revoked
// PINs all get pin_invalid.
func (s *Service) RedeemPIN(ctx context.Context, p auth.Principal, clientIP string, req RedeemPINRequest) (Joined, error) {
	if s.PINKey == nil {
		return Joined{}, errNotConfigured("the PIN key")
	}
	if err := checkCaller(p, req.Normalize); err != nil {
		return Joined{}, err
	}
	hash, ok := s.secretHash(invitation.KindPIN, req.PIN)
	if !ok {
		return Joined{}, invitation.ErrPINMalformed
	}
	found := s.lookUp(ctx, invitation.KindPIN, hash)
	attempt, err := s.pinAttempt(ctx, clientIP)
	if err != nil {
		return Joined{}, err // at once, not after the reads: see lookUp
	}
	joined, err := s.redeem(ctx, found, req.DisplayName, attempt[0])
	return s.settle(ctx, attempt, joined, err, invitation.ErrPINInvalid)
}

// PrefetchRedemption reads the live secret a redemption names beside its idempotency claim
// (httpapi.Prefetch): the PIN or join token is in the body. What cannot be a secret reads
// nothing; the redemption refuses it without a look.
func (s *Service) PrefetchRedemption(ctx context.Context, kind invitation.Kind, secret string) {
	hash, ok := s.secretHash(kind, secret)
	if ok {
		requestscope.ReadAhead(ctx, liveSecretKey(kind, hash), s.readLiveSecret(kind, hash))
	}
}

// secretHash is how the store knows a PIN or join token, if it can be one.
func (s *Service) secretHash(kind invitation.Kind, secret string) (string, bool) {
	if kind == invitation.KindEmail {
		return ids.Hash(secret), invitation.LooksLikeJoinToken(secret)
	}
	pin, ok := invitation.NormalizePIN(secret, s.Config.PINLength)
	if !ok || s.PINKey == nil {
		return "", false
	}
	return s.PINKey.Hash(pin), true
}

func liveSecretKey(kind invitation.Kind, hash string) string {
	return "live-secret#" + string(kind) + "#" + hash
}

func (s *Service) readLiveSecret(kind invitation.Kind, hash string) func(context.Context) (store.LiveSecret, error) {
	return func(ctx context.Context) (store.LiveSecret, error) { return s.Store.LiveSecret(ctx, kind, hash) }
}

// pinAttempt admits one guess, taking slots that a right PIN gives back (settle). The
// client's own slot comes first, a conditional write, so one client can never pass its limit
// however many requests it runs at once. A client's first attempt in its window needs nothing
// more: a customer with a clean record is always let in to try, whatever others do (SPEC §5,
// no lockout). Every further attempt also needs a slot of the deployment-wide budget, which
// is what bounds an attacker with many addresses: once it is spent, each fresh address adds
// one guess (README, "Why PINs cannot be guessed").
func (s *Service) pinAttempt(ctx context.Context, clientIP string) ([]ratelimit.Slot, error) {
	limits := s.Config.Limits
	attempt, err := s.takeAttempt(ctx, limited{limits.PINFailuresPerIP, ratelimit.ClientKey(clientIP)})
	if err != nil || attempt[0].Count == 1 {
		return attempt, err
	}
	share, err := s.Limiter.TakeShare(ctx, limits.PINFailuresEverywhere)
	if err == nil && !share.OK {
		err = share.Err()
	}
	if err != nil {
		s.refund(ctx, attempt)
		if apperror.As(err).Kind == apperror.KindRateLimited {
			return nil, err
		}
		return nil, apperror.Internal(err)
	}
	return append(attempt, share), nil
}

// RedeemJoinToken joins a customer by the token of an email link: POST /join/token. Only a
// POST redeems; a mail scanner that GETs the link reaches the web page and consumes nothing.
func (s *Service) RedeemJoinToken(ctx context.Context, p auth.Principal, clientIP string, req RedeemJoinTokenRequest) (Joined, error) {
	if err := checkCaller(p, req.Normalize); err != nil {
		return Joined{}, err
	}
	hash, ok := s.secretHash(invitation.KindEmail, req.Token)
	if !ok {
		return Joined{}, invitation.ErrJoinTokenMalformed
	}
	found := s.lookUp(ctx, invitation.KindEmail, hash)
	attempt, err := s.takeAttempt(ctx, limited{s.Config.Limits.JoinTokenFailuresPerIP, ratelimit.ClientKey(clientIP)})
	if err != nil {
		return Joined{}, err // at once, not after the reads: see lookUp
	}
	joined, err := s.redeem(ctx, found, req.DisplayName, attempt[0])
	return s.settle(ctx, attempt, joined, err, invitation.ErrJoinTokenInvalid)
}

// lookUp starts finding the invitation a secret opens — the live secret (read beside the
// claim, PrefetchRedemption), then the invitation with its conversation's head — beside the
// attempt's rate-limit write, so that the write and the reads take one round trip; call the
// result to wait for it. A caller the limit refuses is answered 429 without a look at what was
// read and without waiting for it: a right secret's invitation is read as well, so a 429 that
// waited would come later for a right guess than for a wrong one, and tell them apart. (The
// reads cost a GetItem or two more per refused guess, each bounded by its call deadline.)
func (s *Service) lookUp(ctx context.Context, kind invitation.Kind, hash string) func() (invitation.Invitation, error) {
	var (
		inv  invitation.Invitation
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		inv, err = s.redeemable(ctx, kind, hash)
	}()
	return func() (invitation.Invitation, error) {
		<-done
		return inv, err
	}
}

// checkCaller refuses presented credentials that failed (never downgraded to anonymous) and
// checks the request.
func checkCaller(p auth.Principal, normalize func() error) error {
	if p.AuthError != "" {
		return p.RequireAuthenticated()
	}
	return normalize()
}

// limited is one rule applied to one subject.
type limited struct {
	rule    ratelimit.Rule
	subject string
}

// takeAttempt takes a slot of every rule for this attempt, or none: if one rule is full the
// slots already taken are given back and the caller gets 429 with that rule's Retry-After.
func (s *Service) takeAttempt(ctx context.Context, rules ...limited) ([]ratelimit.Slot, error) {
	if s.Limiter == nil {
		return nil, errNotConfigured("the rate limiter")
	}
	var taken []ratelimit.Slot
	for _, l := range rules {
		slot, err := s.Limiter.Take(ctx, l.rule, l.subject)
		if err == nil && !slot.OK {
			err = slot.Err()
		}
		if err != nil {
			s.refund(ctx, taken)
			if apperror.As(err).Kind == apperror.KindRateLimited {
				return nil, err
			}
			return nil, apperror.Internal(err)
		}
		taken = append(taken, slot)
	}
	return taken, nil
}

// settle ends an attempt: only failed guesses count against the limits. A refusal keeps the
// slots and becomes the one answer; a success has given the client's slot back in its own
// write (redeem) and gives the rest back now; a failure of ours gives every slot back.
func (s *Service) settle(ctx context.Context, attempt []ratelimit.Slot, joined Joined, err error, refused error) (Joined, error) {
	switch {
	case errors.Is(err, errRefused):
		return Joined{}, refused
	case err != nil:
		s.refund(ctx, attempt)
		return Joined{}, apperror.Internal(err)
	}
	s.refund(ctx, attempt[1:])
	return joined, nil
}

// refund is best effort: a slot not given back only costs the caller one try until the
// window ends.
func (s *Service) refund(ctx context.Context, slots []ratelimit.Slot) {
	ctx, done := outcome.Context(ctx)
	defer done()
	for _, slot := range slots {
		_ = s.Limiter.Refund(ctx, slot)
	}
}

// redeem joins the customer to the invitation found behind the secret, in one transaction
// which also gives back the client's rate-limit slot (a right guess does not count) and, on a
// keyed request, records the answer (idempotency.Answering): no write after the commit. Any
// reason it cannot is errRefused.
func (s *Service) redeem(ctx context.Context, found func() (invitation.Invitation, error), displayName string, clientSlot ratelimit.Slot) (Joined, error) {
	inv, err := found()
	if err != nil {
		return Joined{}, err
	}
	now := s.now()
	if displayName == "" {
		displayName = inv.Name
	}
	token := ids.Token()
	part := conversation.Participant{
		ConversationID: inv.ConversationID, ID: ids.New("vis"), Kind: conversation.KindVisitor,
		DisplayName: displayName, JoinedAt: now, SessionHash: ids.Hash(token), State: conversation.StateActive,
	}
	if inv.Admit.Lobby() {
		part.State, part.Admit = conversation.StateWaiting, inv.Admit
		part.WaitingUntil = invitation.ValidUntil(now, s.Config.LobbyTimeout)
	}
	session := store.Session{Hash: part.SessionHash, ConversationID: inv.ConversationID, ParticipantID: part.ID,
		ExpiresAt: now.Add(s.Config.SessionTTL)}
	events := invitation.RedeemedEvents(inv, part, now)
	joined := Joined{ConversationID: inv.ConversationID, ParticipantID: part.ID, SessionToken: token, ExpiresAt: session.ExpiresAt,
		State: part.State, WaitingUntil: part.WaitingUntil}
	err = s.Store.RedeemInvitation(idempotency.Answering(ctx, joined), store.Redemption{Invitation: inv, Participant: part,
		Session: session, Events: events, At: now, ReturnSlot: clientSlot.Counter()})
	if errors.Is(err, store.ErrRedemptionRefused) {
		return Joined{}, errRefused
	}
	if err != nil {
		return Joined{}, err
	}
	return joined, nil
}

// redeemable reads the live secret and its invitation. The transaction checks all of this
// again; reading first tells which invitation and conversation the secret opens.
func (s *Service) redeemable(ctx context.Context, kind invitation.Kind, hash string) (invitation.Invitation, error) {
	secret, err := requestscope.ReadOnce(ctx, liveSecretKey(kind, hash), s.readLiveSecret(kind, hash))
	if store.IsNotFound(err) {
		return invitation.Invitation{}, errRefused
	}
	if err != nil {
		return invitation.Invitation{}, err
	}
	inv, err := s.Store.InvitationToRedeem(ctx, secret)
	if store.IsNotFound(err) {
		return invitation.Invitation{}, errRefused
	}
	if err != nil {
		return invitation.Invitation{}, err
	}
	if inv.Kind != kind || inv.SecretHash != hash || !inv.Pending(s.now()) {
		return invitation.Invitation{}, errRefused
	}
	return inv, nil
}
