package conversation

import (
	"slices"
	"time"
	"unicode/utf8"
)

// Context is what an agent needs to judge an offer before taking it (SPEC §9.4): what the
// conversation is about, who the customer is, since when they have waited for an agent, and
// the last few messages the customer saw. It is kept up to date from the conversation's own
// events as they are written (Observe), so that offers can carry it without reading history.
type Context struct {
	Topic        string `json:"topic,omitempty"`
	PageURL      string `json:"pageUrl,omitempty"`
	CustomerName string `json:"customerName,omitempty"`
	// WaitingSince is when the customer began waiting for an agent; zero while an agent
	// holds the conversation.
	WaitingSince time.Time `json:"waitingSince,omitzero"`
	// RecentMessages are the last RecentMessagesKept messages the customer could see, oldest
	// first. System notices are not messages.
	RecentMessages []RecentMessage `json:"recentMessages"`
}

// RecentMessage is one message of a Context, as the customer saw it.
type RecentMessage struct {
	Author string    `json:"author"` // display name
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

// How much of the conversation a Context keeps. The text is a preview: an offer carries five
// of them, and every one of its writes costs by its size.
const (
	RecentMessagesKept = 5
	RecentTextMax      = 500 // runes; longer texts end in "…"
)

// Fallback authors for messages whose writer gave no display name.
const (
	unnamedCustomer = "Customer"
	unnamedAgent    = "Agent"
)

// NewContext is the context of a conversation as it starts, before its opening events.
func NewContext(c Conversation) Context {
	return Context{Topic: c.Topic, PageURL: c.PageURL}
}

// Observe brings the context up to date with one event of its conversation, in history order:
// a customer-visible message joins the recent ones; the first customer who joins with a name
// names the customer; a conversation that starts or is unassigned has the customer waiting
// from then, and one that is assigned has them waiting no more.
func (c *Context) Observe(e Event) {
	switch e.Type {
	case EventMessageCreated:
		if e.Audience == AudienceEveryone {
			c.remember(e)
		}
	case EventParticipantJoined:
		if name, _ := e.Data["displayName"].(string); c.CustomerName == "" && e.Data["kind"] == string(KindVisitor) && name != "" {
			c.CustomerName = name
		}
	case EventConversationStarted, EventConversationUnassigned:
		c.WaitingSince = e.At
	case EventConversationAssigned:
		c.WaitingSince = time.Time{}
	}
}

func (c *Context) remember(e Event) {
	text, _ := e.Data["text"].(string)
	author, _ := e.Data["displayName"].(string)
	if author == "" {
		author = unnamedCustomer
		if e.Data["kind"] == string(KindAgent) {
			author = unnamedAgent
		}
	}
	msgs := append(slices.Clone(c.RecentMessages), RecentMessage{Author: author, Text: preview(text), At: e.At})
	c.RecentMessages = msgs[max(0, len(msgs)-RecentMessagesKept):]
}

// preview cuts a text to RecentTextMax runes.
func preview(text string) string {
	if utf8.RuneCountInString(text) <= RecentTextMax {
		return text
	}
	r := []rune(text)
	return string(r[:RecentTextMax-1]) + "…"
}

// Equal reports whether two contexts say the same.
func (c Context) Equal(o Context) bool {
	return c.Topic == o.Topic && c.PageURL == o.PageURL && c.CustomerName == o.CustomerName &&
		c.WaitingSince.Equal(o.WaitingSince) && slices.EqualFunc(c.RecentMessages, o.RecentMessages, func(a, b RecentMessage) bool {
		return a.Author == b.Author && a.Text == b.Text && a.At.Equal(b.At)
	})
}
