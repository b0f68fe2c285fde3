package invitation

import (
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// OfferContext is what an offer shows its addressees so they can decide before taking it
// (SPEC §9.4): the conversation's context and the invitation's or forward's message.
type OfferContext struct {
	conversation.Context
	Message string `json:"message,omitempty"`
}

// ContextOf is the offer's context as of the conversation's context c.
func (o Offer) ContextOf(c conversation.Context) OfferContext {
	return OfferContext{Context: c, Message: o.Message}
}

// ContextData is the offer's context as it travels in the data of its invitation.created
// event (history and push), the shape of OfferContext's JSON (times as encoding/json writes
// them).
func (oc OfferContext) ContextData() map[string]any {
	recent := make([]any, len(oc.RecentMessages))
	for i, m := range oc.RecentMessages {
		recent[i] = map[string]any{"author": m.Author, "text": m.Text, "at": m.At.UTC().Format(time.RFC3339Nano)}
	}
	d := map[string]any{"recentMessages": recent}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("topic", oc.Topic)
	set("pageUrl", oc.PageURL)
	set("customerName", oc.CustomerName)
	set("message", oc.Message)
	if !oc.WaitingSince.IsZero() {
		d["waitingSince"] = oc.WaitingSince.UTC().Format(time.RFC3339Nano)
	}
	return d
}
