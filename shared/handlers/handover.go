package handlers

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/sweep"
)

// InviteAgent: POST /conversations/{id}/invitations/agent {agentId, message}.
func InviteAgent(d *setup.Deps) httpapi.Handler {
	return offerHandler[handover.InviteAgentRequest](d, "invite_agent", d.Handover().Invite, d.Handover().PrefetchInvitees)
}

// InviteTeam: POST /conversations/{id}/invitations/team {teamId, message}.
func InviteTeam(d *setup.Deps) httpapi.Handler {
	return offerHandler[handover.InviteTeamRequest](d, "invite_team", d.Handover().Invite, d.Handover().PrefetchInvitees)
}

// ForwardConversation: POST /conversations/{id}/forward {to:{kind, id}, message}.
func ForwardConversation(d *setup.Deps) httpapi.Handler {
	return offerHandler[handover.ForwardRequest](d, "forward_conversation", d.Handover().Forward, d.Handover().PrefetchTargets)
}

// offerRequest is a body that names an agent or a team and carries a message for them.
type offerRequest[T any] interface {
	*T
	Normalize() (invitation.Target, error)
	RouteFrom(first invitation.Target) (invitation.Route, error)
	MessageText() string
}

// offerAction invites or forwards to a target, as the handover service does.
type offerAction func(ctx context.Context, p auth.Principal, conversationID string, route invitation.Route, message string) (invitation.Offer, error)

// offerHandler is the one shape of the three routes that offer a conversation to someone:
// decode strictly, normalize the target, act, answer 201 with the offer; with a key, what the
// body names is read beside the access check.
func offerHandler[T any, R offerRequest[T]](d *setup.Deps, name string, act offerAction, prefetch prefetchRoute) httpapi.Handler {
	return httpapi.Handle(name, d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		route, message, err := offerBody[T, R](r)
		if err != nil {
			return httpapi.Response{}, err
		}
		return created(act(ctx, r.Principal, r.Path("id"), route, message))
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(),
		prefetchStanding(d, func(ctx context.Context, r *httpapi.Request) {
			// The targets the body names, read beside the access check: a body the action
			// will refuse reads nothing.
			if route, _, err := offerBody[T, R](r); err == nil {
				prefetch(ctx, r.Path("id"), route)
			}
		}))
}

// prefetchRoute reads what an offer's route names (handover.Service.PrefetchTargets).
type prefetchRoute func(ctx context.Context, conversationID string, route invitation.Route)

// offerBody decodes an offer's body strictly and normalizes its route.
func offerBody[T any, R offerRequest[T]](r *httpapi.Request) (invitation.Route, string, error) {
	req := R(new(T))
	if err := httpapi.Decode(r.Body, req); err != nil {
		return nil, "", err
	}
	to, err := req.Normalize()
	if err != nil {
		return nil, "", err
	}
	route, err := req.RouteFrom(to)
	return route, req.MessageText(), err
}

func created(o invitation.Offer, err error) (httpapi.Response, error) {
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Created(o), nil
}

// GetInbox: GET /inbox — what waits for the calling agent.
func GetInbox(d *setup.Deps) httpapi.Handler {
	svc := d.Handover()
	return httpapi.Handle("get_inbox", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		inbox, err := svc.Inbox(ctx, r.Principal, r.Query["cursor"], r.Query["limit"])
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(inbox), nil
	})
}

// AcceptInvitation: POST /invitations/{invitationId}/accept.
func AcceptInvitation(d *setup.Deps) httpapi.Handler {
	svc := d.Handover()
	return httpapi.Handle("accept_invitation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := httpapi.Decode(r.Body, &noBody{}); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.Accept(ctx, r.Principal, r.Path("invitationId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		r.ConversationID = out.ConversationID
		return httpapi.OK(out), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), prefetchOffer(svc))
}

// DeclineInvitation: POST /invitations/{invitationId}/decline {reason?}.
func DeclineInvitation(d *setup.Deps) httpapi.Handler {
	svc := d.Handover()
	return httpapi.Handle("decline_invitation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req handover.DeclineRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		if err := req.Normalize(); err != nil {
			return httpapi.Response{}, err
		}
		if err := svc.Decline(ctx, r.Principal, r.Path("invitationId"), req.Reason); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), prefetchOffer(svc))
}

// prefetchOffer has an answer read its offer beside its idempotency key: the answer's reads
// then take two round trips (the offer and the key; what the answer decides on), its write a
// third — the second read needs the offer's conversation, which only the offer names.
func prefetchOffer(svc *handover.Service) httpapi.Option {
	return httpapi.Prefetch(func(ctx context.Context, r *httpapi.Request) {
		svc.PrefetchOffer(ctx, r.Principal, r.Path("invitationId"))
	})
}

// ExpireInvitations is the scheduled sweep (EventBridge, every minute): invitations and
// forwards nobody answered in time are expired and pushed, forwards come back to their
// forwarders, invitees who waited in the lobby past their time are refused, and conversations
// that ended get their expiry (RetentionDays) on every item. A failure is returned to the
// runtime, so the invocation counts as failed (and alarms can see it); what was done stays
// done, and the next run picks up the rest.
func ExpireInvitations(d *setup.Deps) func(context.Context, events.EventBridgeEvent) (sweep.Report, error) {
	run := sweep.Sweep{Index: d.Store(), Handover: d.Handover(), Conversations: d.Conversations()}
	return func(ctx context.Context, ev events.EventBridgeEvent) (sweep.Report, error) {
		rep, err := run.Run(ctx)
		level, outcome := slog.LevelInfo, "ok"
		args := []any{"action", "expire_invitations", "requestId", ev.ID, "expired", rep.Expired, "advanced", rep.Advanced,
			"revoked", rep.Revoked, "skipped", rep.Skipped, "failed", rep.Failed,
			"lobbyRefused", rep.Lobby.Refused, "lobbySkipped", rep.Lobby.Skipped, "lobbyFailed", rep.Lobby.Failed,
			"retained", rep.Retention.Retained, "retentionPaused", rep.Retention.Paused, "retentionFailed", rep.Retention.Failed,
			"unknown", rep.Unknown}
		if err != nil {
			level, outcome = slog.LevelError, "failed"
			args = append(args, "cause", err.Error())
		}
		d.Log.Log(ctx, level, "sweep", append(args, "outcome", outcome)...)
		return rep, err
	}
}
