package handover

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Inbox is the answer of GET /inbox: one page.
type Inbox struct {
	Invitations []InboxEntry `json:"invitations"`
	// NextCursor reads the following page (?cursor=); absent on the last.
	NextCursor string `json:"nextCursor,omitempty"`
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
// them or to one of their teams, newest first, a page at a time (SPEC §4). Expiry is applied
// here, at read time; a team offer the agent declined, their own forward, and anything of an
// ended conversation are left out, so a page may hold fewer than limit entries and still have
// a next one. A page costs the same whatever the inboxes hold: one Query per inbox (in
// parallel) and one batch read of the conversations it names.
func (s *Service) Inbox(ctx context.Context, p auth.Principal, cursorParam, limitParam string) (Inbox, error) {
	if err := p.RequireAgent(); err != nil {
		return Inbox{}, err
	}
	limit, err := conversations.PageSize(limitParam)
	if err != nil {
		return Inbox{}, err
	}
	from, err := decodeInboxCursor(cursorParam)
	if err != nil {
		return Inbox{}, err
	}
	teams, err := s.Store.TeamsOf(ctx, p.AgentID)
	if err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	positions := map[string]string{}
	for _, inbox := range append([]string{store.AgentInbox(p.AgentID)}, teamInboxes(teams)...) {
		if pos, read := from[inbox]; !read || pos != inboxDone {
			positions[inbox] = pos
		}
	}
	read, err := s.Store.InboxPage(ctx, positions, limit)
	if err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	page, next := mergeInboxes(read, positions, limit)
	if page, err = s.resolveSlots(ctx, page); err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	out, err := s.describe(ctx, p.AgentID, page)
	if err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	out.NextCursor = encodeInboxCursor(next)
	return out, nil
}

func teamInboxes(teams []string) []string {
	out := make([]string, len(teams))
	for i, t := range teams {
		out[i] = store.TeamInbox(t)
	}
	return out
}

// mergeInboxes takes the newest limit offers of all inboxes read (each inbox gave at most
// limit, so the newest limit overall are among them) and where each inbox now stands:
// after its last offer taken, or done once it gave fewer than limit and all were taken.
// next is nil when every inbox is done.
func mergeInboxes(read []store.InboxOffer, positions map[string]string, limit int) ([]store.InboxOffer, map[string]string) {
	slices.SortFunc(read, func(a, b store.InboxOffer) int { return cmp.Compare(b.Position, a.Position) })
	taken := read[:min(limit, len(read))]
	perInbox := map[string]int{}
	for _, o := range read {
		perInbox[o.Inbox]++
	}
	next := maps.Clone(positions)
	takenFrom := map[string]int{}
	page := make([]store.InboxOffer, len(taken))
	for i, o := range taken {
		page[i] = o
		next[o.Inbox] = o.Position
		takenFrom[o.Inbox]++
	}
	open := false
	for inbox := range positions {
		if perInbox[inbox] < limit && takenFrom[inbox] == perInbox[inbox] {
			next[inbox] = inboxDone
		} else {
			open = true
		}
	}
	if !open {
		return page, nil
	}
	return page, next
}

// describe turns a page of offers into inbox entries, reading their conversations at once.
func (s *Service) describe(ctx context.Context, agentID string, page []store.InboxOffer) (Inbox, error) {
	now := s.now()
	// Only what waits for them now: a chain whose turn is not theirs (any more, or yet) costs
	// no conversation read.
	var visible []invitation.Offer
	ids := map[string]bool{}
	for _, in := range page {
		if o := offerAsOf(in.Offer, now); o.InInboxOf(agentID, now) && inboxOf(o) == in.Inbox {
			visible = append(visible, o)
			ids[o.ConversationID] = true
		}
	}
	convs, err := s.Store.Conversations(ctx, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return Inbox{}, err
	}
	v := inboxView{s: s, convs: map[string]*conversation.Conversation{}, names: map[string]string{}}
	for id := range ids {
		if c, ok := convs[id]; ok {
			v.convs[id] = &c
		} else {
			v.convs[id] = nil
		}
	}
	out := Inbox{Invitations: []InboxEntry{}}
	for _, o := range visible {
		e, ok, err := v.entry(ctx, o)
		if err != nil {
			return Inbox{}, err
		}
		if ok {
			out.Invitations = append(out.Invitations, e)
		}
	}
	return out, nil
}

// inboxDone marks, in a cursor, an inbox read to its end.
const inboxDone = "~done"

// decodeInboxCursor reads ?cursor=: base64url of the JSON object of inbox → position.
func decodeInboxCursor(raw string) (map[string]string, error) {
	from := map[string]string{}
	if raw == "" {
		return from, nil
	}
	bad := apperror.Invalid("invalid_cursor", "cursor must be the nextCursor of an earlier page")
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(raw) > maxInboxCursor || json.Unmarshal(data, &from) != nil {
		return nil, bad
	}
	return from, nil
}

// maxInboxCursor bounds ?cursor=: an agent's inbox and a few dozen teams' fit well below it.
const maxInboxCursor = 8 << 10

func encodeInboxCursor(next map[string]string) string {
	if next == nil {
		return ""
	}
	data, _ := json.Marshal(next)
	return base64.RawURLEncoding.EncodeToString(data)
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
