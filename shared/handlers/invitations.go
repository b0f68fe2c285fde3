package handlers

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// Routes whose answers carry a secret (a new PIN, a visitor session token) keep their
// idempotent answers sealed with the deployment secret: a PIN is stored only as its HMAC and
// a session token only as its hash, also inside idempotency records.

// noBody is the body of actions that take no fields: a bare POST or {}; anything else is 400.
type noBody struct{}

// CreatePinInvitation: POST /conversations/{id}/invitations/pin.
func CreatePinInvitation(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations(setup.NeedPINKey)
	return httpapi.Handle("create_pin_invitation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req invitations.PINRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.CreatePIN(ctx, r.Principal, r.Path("id"), req)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Created(out), nil
	}, httpapi.Idempotent(d.SealedIdempotency()), httpapi.CommitsOnce(), prefetchStanding(d))
}

// CreateEmailInvitation: POST /conversations/{id}/invitations/email.
func CreateEmailInvitation(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations(setup.NeedMailer)
	return httpapi.Handle("create_email_invitation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req invitations.EmailRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.CreateEmail(ctx, r.Principal, r.Path("id"), req)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Created(out), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.AnswersAhead(httpapi.Created), prefetchStanding(d))
}

// ListInvitations: GET /conversations/{id}/invitations.
func ListInvitations(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations()
	return httpapi.Handle("list_invitations", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		out, err := svc.List(ctx, r.Principal, r.Path("id"))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(out), nil
	})
}

// RevokeInvitation: DELETE /conversations/{id}/invitations/{invitationId}.
func RevokeInvitation(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations()
	return httpapi.Handle("revoke_invitation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		out, err := svc.Revoke(ctx, r.Principal, r.Path("id"), r.Path("invitationId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(out), nil
	}, httpapi.NoBody(), httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), prefetchStanding(d, prefetchInvitation(svc)))
}

// ResendInvitation: POST /conversations/{id}/invitations/{invitationId}/resend — a new PIN,
// or the email again with a new link.
func ResendInvitation(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations(setup.NeedPINKey, setup.NeedMailer)
	return httpapi.Handle("resend_invitation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := httpapi.Decode(r.Body, &noBody{}); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.Resend(ctx, r.Principal, r.Path("id"), r.Path("invitationId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(out), nil
	}, httpapi.Idempotent(d.SealedIdempotency()), httpapi.AnswersAhead(httpapi.OK), prefetchStanding(d, prefetchInvitation(svc)))
}

// prefetchInvitation reads the invitation of the route's path.
func prefetchInvitation(svc *invitations.Service) httpapi.Prefetcher {
	return func(ctx context.Context, r *httpapi.Request) { svc.PrefetchInvitation(ctx, r.Path("invitationId")) }
}

// RedeemPin: POST /join/pin — anyone; rate limited per client IP and deployment-wide.
func RedeemPin(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations(setup.NeedPINKey)
	return httpapi.Handle("redeem_pin", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req invitations.RedeemPINRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.RedeemPIN(ctx, r.Principal, r.SourceIP, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		r.ConversationID = out.ConversationID
		return httpapi.Created(out), nil
	}, httpapi.AllowAnonymous(), httpapi.Idempotent(d.SealedIdempotency()), httpapi.AnswersAhead(httpapi.Created),
		httpapi.Prefetch(func(ctx context.Context, r *httpapi.Request) {
			var req invitations.RedeemPINRequest
			if httpapi.Decode(r.Body, &req) == nil {
				svc.PrefetchRedemption(ctx, invitation.KindPIN, req.PIN)
			}
		}))
}

// RedeemJoinToken: POST /join/token — anyone; the join page posts the token from its link.
func RedeemJoinToken(d *setup.Deps) httpapi.Handler {
	svc := d.Invitations()
	return httpapi.Handle("redeem_join_token", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req invitations.RedeemJoinTokenRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.RedeemJoinToken(ctx, r.Principal, r.SourceIP, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		r.ConversationID = out.ConversationID
		return httpapi.Created(out), nil
	}, httpapi.AllowAnonymous(), httpapi.Idempotent(d.SealedIdempotency()), httpapi.AnswersAhead(httpapi.Created),
		httpapi.Prefetch(func(ctx context.Context, r *httpapi.Request) {
			var req invitations.RedeemJoinTokenRequest
			if httpapi.Decode(r.Body, &req) == nil {
				svc.PrefetchRedemption(ctx, invitation.KindEmail, req.Token)
			}
		}))
}
