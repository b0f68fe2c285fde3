package handlers

import (
	"context"
	"sync"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// StartConversation: POST /conversations.
func StartConversation(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("start_conversation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req conversation.StartRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		out, err := svc.Start(ctx, r.Principal, r.SourceIP, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		r.ConversationID = out.ConversationID
		return httpapi.Created(out), nil
	}, httpapi.AllowAnonymous(), httpapi.Idempotent(d.SealedIdempotency()), // the answer carries a session token
		httpapi.CommitsOnceFor(byAgent),       // a visitor's start takes rate limits first: not one write
		httpapi.AnswersAhead(httpapi.Created), // but its commit records its answer
		httpapi.Prefetch(func(ctx context.Context, r *httpapi.Request) {
			var req conversation.StartRequest
			if httpapi.Decode(r.Body, &req) == nil {
				svc.PrefetchStart(ctx, r.Principal, req)
			}
		}))
}

func byAgent(r *httpapi.Request) bool { return r.Principal.IsAgent() }

// GetConversation: GET /conversations/{id}.
func GetConversation(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	pending := d.Invitations() // agents see the pending invitations
	return httpapi.Handle("get_conversation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		v, err := svc.Get(ctx, r.Principal, r.Path("id"), pending)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(v), nil
	})
}

// ListEvents: GET /conversations/{id}/events?after=&limit=.
func ListEvents(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("list_events", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		page, err := svc.History(ctx, r.Principal, r.Path("id"), r.Query["after"], r.Query["limit"])
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(page), nil
	})
}

// PostMessage: POST /conversations/{id}/messages.
func PostMessage(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("post_message", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var req conversations.MessageRequest
		if err := httpapi.Decode(r.Body, &req); err != nil {
			return httpapi.Response{}, err
		}
		e, err := svc.PostMessage(ctx, r.Principal, r.Path("id"), req)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Created(e), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), prefetchStanding(d))
}

// LeaveConversation: POST /conversations/{id}/leave.
func LeaveConversation(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("leave_conversation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := svc.Leave(ctx, r.Principal, r.Path("id")); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), httpapi.NoBody(), prefetchStanding(d))
}

// EndConversation: POST /conversations/{id}/end.
func EndConversation(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("end_conversation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := svc.End(ctx, r.Principal, r.Path("id")); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), httpapi.NoBody(), prefetchStanding(d))
}

// AdmitParticipant: POST /conversations/{id}/participants/{participantId}/admit — an agent
// (or, where the invitation says so, a customer) lets a waiting invitee in.
func AdmitParticipant(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("admit_participant", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		p, err := svc.Admit(ctx, r.Principal, r.Path("id"), r.Path("participantId"))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(p), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), httpapi.NoBody(), prefetchStanding(d, prefetchWaiting(svc)))
}

// RefuseParticipant: POST /conversations/{id}/participants/{participantId}/refuse — the
// waiting invitee is turned away; their session ends.
func RefuseParticipant(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("refuse_participant", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := svc.Refuse(ctx, r.Principal, r.Path("id"), r.Path("participantId")); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	}, httpapi.Idempotent(d.Store().Idempotency()), httpapi.CommitsOnce(), httpapi.NoBody(), prefetchStanding(d, prefetchWaiting(svc)))
}

// prefetchWaiting reads the participant an admit or refuse answers.
func prefetchWaiting(svc *conversations.Service) httpapi.Prefetcher {
	return func(ctx context.Context, r *httpapi.Request) {
		svc.PrefetchWaiting(ctx, r.Path("id"), r.Path("participantId"))
	}
}

// prefetchStanding has a conversation route read the caller's standing and its idempotency
// key in one BatchGetItem (httpapi.PrefetchWithKey). also, when given, reads what else the
// route is about (named by its path) in the same round trip.
func prefetchStanding(d *setup.Deps, also ...httpapi.Prefetcher) httpapi.Option {
	st := d.Store()
	return httpapi.PrefetchWithKey(func(ctx context.Context, r *httpapi.Request) {
		var wg sync.WaitGroup
		for _, read := range also {
			wg.Go(func() { read(ctx, r) })
		}
		conversations.Prefetch(ctx, st, r.Principal, r.Path("id"))
		wg.Wait()
	})
}
