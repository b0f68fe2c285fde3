package conversation

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func message(text, author string, kind ParticipantKind, audience Audience, at time.Time) Event {
	return Event{Type: EventMessageCreated, At: at, Audience: audience,
		Data: map[string]any{"text": text, "displayName": author, "kind": string(kind)}}
}

// TestContext_KeepsTheLastFiveCustomerVisibleMessagesOldestFirst (SPEC §9.4): messages of
// either side that the customer saw, the last five, oldest first; system notices and
// agents-only messages are not among them.
func TestContext_KeepsTheLastFiveCustomerVisibleMessagesOldestFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	c := NewContext(Conversation{Topic: "Order 42", PageURL: "https://shop.example/orders/42"})
	for i := range 7 {
		at := t0.Add(time.Duration(i) * time.Minute)
		author, kind := "Dana", KindVisitor
		if i%2 == 1 {
			author, kind = "Ada", KindAgent
		}
		c.Observe(message(fmt.Sprintf("m%d", i), author, kind, AudienceEveryone, at))
		c.Observe(message("whisper", "Ada", KindAgent, AudienceAgents, at))
		c.Observe(Event{Type: EventParticipantJoined, At: at, Audience: AudienceEveryone, Data: map[string]any{"kind": "agent", "displayName": "Mia"}})
		c.Observe(Event{Type: EventConversationForwarded, At: at, Audience: AudienceEveryone, Data: map[string]any{"to": "Billing"}})
	}
	var got []string
	for _, m := range c.RecentMessages {
		got = append(got, fmt.Sprintf("%s:%s@%d", m.Author, m.Text, m.At.Sub(t0)/time.Minute))
	}
	if want := "Dana:m2@2 Ada:m3@3 Dana:m4@4 Ada:m5@5 Dana:m6@6"; strings.Join(got, " ") != want {
		t.Fatalf("recent messages %v, want the last five customer-visible ones oldest first: %s", got, want)
	}
	if c.Topic != "Order 42" || c.PageURL != "https://shop.example/orders/42" {
		t.Errorf("topic %q, page %q", c.Topic, c.PageURL)
	}
}

// TestContext_NamesTheFirstNamedCustomer: agents who join do not name the customer; the first
// customer who joins with a name does, and a later one does not rename them.
func TestContext_NamesTheFirstNamedCustomer(t *testing.T) {
	var c Context
	for _, d := range []map[string]any{
		{"kind": "agent", "displayName": "Ada"},
		{"kind": "visitor"},
		{"kind": "visitor", "displayName": "Dana"},
		{"kind": "visitor", "displayName": "Eve"},
	} {
		c.Observe(Event{Type: EventParticipantJoined, Audience: AudienceEveryone, Data: d})
	}
	if c.CustomerName != "Dana" {
		t.Fatalf("customer %q, want Dana", c.CustomerName)
	}
}

// TestContext_TheCustomerWaitsWhileNoAgentHoldsTheConversation: from the start of a
// conversation nobody holds, or from the moment it is unassigned, until an agent is assigned.
func TestContext_TheCustomerWaitsWhileNoAgentHoldsTheConversation(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var c Context
	c.Observe(Event{Type: EventConversationStarted, At: t0})
	if !c.WaitingSince.Equal(t0) {
		t.Fatalf("after a start: waiting since %v", c.WaitingSince)
	}
	c.Observe(message("hello?", "Dana", KindVisitor, AudienceEveryone, t0.Add(time.Minute)))
	if !c.WaitingSince.Equal(t0) {
		t.Fatalf("a message moved the wait: %v", c.WaitingSince)
	}
	c.Observe(Event{Type: EventConversationAssigned, At: t0.Add(2 * time.Minute)})
	if !c.WaitingSince.IsZero() {
		t.Fatalf("held by an agent, yet waiting since %v", c.WaitingSince)
	}
	c.Observe(Event{Type: EventConversationUnassigned, At: t0.Add(3 * time.Minute)})
	if !c.WaitingSince.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("after the assignee left: waiting since %v", c.WaitingSince)
	}
}

// TestContext_AuthorsAndLongTexts: a message without a display name is by "Customer" or
// "Agent"; a long text is kept as a preview of RecentTextMax runes.
func TestContext_AuthorsAndLongTexts(t *testing.T) {
	var c Context
	c.Observe(message(strings.Repeat("é", RecentTextMax+10), "", KindVisitor, AudienceEveryone, time.Time{}))
	c.Observe(message(strings.Repeat("x", RecentTextMax), "", KindAgent, AudienceEveryone, time.Time{}))
	long, exact := c.RecentMessages[0], c.RecentMessages[1]
	if long.Author != "Customer" || exact.Author != "Agent" {
		t.Errorf("authors %q, %q", long.Author, exact.Author)
	}
	if utf8.RuneCountInString(long.Text) != RecentTextMax || !strings.HasSuffix(long.Text, "…") {
		t.Errorf("a long text is kept as %d runes: %q…", utf8.RuneCountInString(long.Text), long.Text[:20])
	}
	if exact.Text != strings.Repeat("x", RecentTextMax) {
		t.Error("a text of exactly the preview's length was cut")
	}
}
