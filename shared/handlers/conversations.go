package handlers

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/conversation"
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
		out, err := svc.Start(ctx, r.Principal, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		r.ConversationID = out.ConversationID
		return httpapi.Created(out), nil
	}, httpapi.Idempotent(d.Store().Idempotency()))
}

// GetConversation: GET /conversations/{id}.
func GetConversation(d *setup.Deps) httpapi.Handler {
	svc := d.Conversations()
	return httpapi.Handle("get_conversation", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		v, err := svc.Get(ctx, r.Principal, r.Path("id"), nil)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(v), nil
	})
}
