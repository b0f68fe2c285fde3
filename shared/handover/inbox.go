package handover

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Inbox is the answer of GET /inbox.
type Inbox struct {
	Invitations []InboxEntry `json:"invitations"`
}

// InboxEntry is one pending invitation, forward or offer as its addressee sees it.
type InboxEntry struct {
	InvitationID    string             `json:"invitationId"`
	Kind            invitation.Kind    `json:"kind"`
	Purpose         invitation.Purpose `json:"purpose,omitempty"`
	ConversationID  string             `json:"conversationId"`
	Topic           string             `json:"topic,omitempty"`
	Message         string             `json:"message,omitempty"`
	ReturnedBecause string             `json:"returnedBecause,omitempty"`
	ReturnedReason  string             `json:"returnedReason,omitempty"`
	// InvitedBy is the inviting or forwarding agent; absent for an offer nobody made (a
	// visitor's new conversation, a returned one).
	InvitedBy *Person   `json:"invitedBy,omitempty"`
	To        Addressee `json:"to"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// Person is an agent by id and name.
type Person struct {
	AgentID string `json:"agentId"`
	Name    string `json:"name,omitempty"`
}

// Addressee is whom an inbox entry is for: the agent, or one of their teams.
type Addressee struct {
	Kind invitation.TargetKind `json:"kind"`
	ID   string                `json:"id"`
	Name string                `json:"name,omitempty"`
}

// Inbox lists what waits for the calling agent: invitations, forwards and offers addressed to
// them or to one of their teams, newest first. Expiry is applied here, at read time; a team
// offer the agent declined, their own forward, and anything of an ended conversation are left
// out. The inboxes are read by index (one Query per inbox), never by a scan.
func (s *Service) Inbox(ctx context.Context, p auth.Principal) (Inbox, error) {
	if err := p.RequireAgent(); err != nil {
		return Inbox{}, err
	}
	teams, err := s.Store.TeamsOf(ctx, p.AgentID)
	if err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	offers, err := s.Store.InboxOffers(ctx, p.AgentID, teams)
	if err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	v := inboxView{s: s, convs: map[string]*conversation.Conversation{}, names: map[string]string{}}
	now := s.now()
	out := Inbox{Invitations: []InboxEntry{}}
	for _, o := range offers {
		if !o.InInboxOf(p.AgentID, now) {
			continue
		}
		e, ok, err := v.entry(ctx, o)
		if err != nil {
			return Inbox{}, apperror.Internal(err)
		}
		if ok {
			out.Invitations = append(out.Invitations, e)
		}
	}
	slices.SortFunc(out.Invitations, func(a, b InboxEntry) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.InvitationID, a.InvitationID))
	})
	return out, nil
}

// inboxView resolves conversations and names once per listing.
type inboxView struct {
	s     *Service
	convs map[string]*conversation.Conversation // nil: gone
	names map[string]string                     // "agent:<id>" or "team:<id>" → name
}

// entry describes an offer, or reports false when its conversation has ended (an end that
// raced with the offer) or is gone.
func (v inboxView) entry(ctx context.Context, o invitation.Offer) (InboxEntry, bool, error) {
	conv, err := v.conversation(ctx, o.ConversationID)
	if err != nil || conv == nil || !conv.Open() {
		return InboxEntry{}, false, err
	}
	to := o.Target()
	e := InboxEntry{
		InvitationID: o.ID, Kind: o.Kind, Purpose: o.Purpose, ConversationID: o.ConversationID,
		Topic: conv.Topic, Message: o.Message, ReturnedBecause: o.ReturnedBecause, ReturnedReason: o.ReturnedReason,
		To: Addressee{Kind: to.Kind, ID: to.ID, Name: v.name(ctx, to)}, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt,
	}
	if o.CreatedBy != "" {
		e.InvitedBy = &Person{AgentID: o.CreatedBy, Name: v.name(ctx, invitation.Target{Kind: invitation.TargetAgent, ID: o.CreatedBy})}
	}
	return e, true, nil
}

func (v inboxView) conversation(ctx context.Context, id string) (*conversation.Conversation, error) {
	if c, ok := v.convs[id]; ok {
		return c, nil
	}
	c, err := v.s.Store.Conversation(ctx, id)
	if store.IsNotFound(err) {
		v.convs[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v.convs[id] = &c
	return &c, nil
}

// name is an agent's or team's directory name; "" when unknown (a name is a courtesy).
func (v inboxView) name(ctx context.Context, t invitation.Target) string {
	key := string(t.Kind) + ":" + t.ID
	if n, ok := v.names[key]; ok {
		return n
	}
	var n string
	if t.Kind == invitation.TargetAgent {
		n, _ = v.s.Store.AgentName(ctx, t.ID)
	} else if team, err := v.s.Store.Team(ctx, t.ID); err == nil {
		n = team.Name
	}
	v.names[key] = n
	return n
}
