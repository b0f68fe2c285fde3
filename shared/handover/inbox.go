package handover

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
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
	// Context is what the agent needs to judge the offer before taking it (SPEC §9.4).
	Context invitation.OfferContext `json:"context"`
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
// here, at read time; a team offer the agent declined and their own forward are left out, so
// a page may hold fewer than limit entries and still have a next one. Each offer item holds
// all that its entry shows — names, context (SPEC §9.4) — so a page is one Query per inbox and
// nothing else: the agent's own inbox is read while their teams are looked up, then the
// teams' inboxes at once. A page costs the same whatever the inboxes hold.
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
	var (
		teams    []string
		teamsErr error
		looked   = make(chan struct{})
	)
	go func() {
		defer close(looked)
		teams, teamsErr = s.Store.TeamsOf(ctx, p.AgentID)
	}()
	own := unread(from, store.AgentInbox(p.AgentID))
	read, err := s.Store.InboxPage(ctx, own, limit)
	<-looked
	if err != nil || teamsErr != nil {
		return Inbox{}, apperror.Internal(errors.Join(err, teamsErr))
	}
	others := unread(from, teamInboxes(teams)...)
	more, err := s.Store.InboxPage(ctx, others, limit)
	if err != nil {
		return Inbox{}, apperror.Internal(err)
	}
	maps.Copy(own, others)
	page, next := mergeInboxes(append(read, more...), own, limit)
	out := Inbox{Invitations: []InboxEntry{}, NextCursor: encodeInboxCursor(next)}
	now := s.now()
	for _, in := range page {
		// A chain shows in the inbox of the target whose turn it is now, derived from time
		// (its offer item for the stored stage, a slot for a later one): each entry once.
		if o := offerAsOf(in.Offer, now); o.InInboxOf(p.AgentID, now) && inboxOf(o) == in.Inbox {
			out.Invitations = append(out.Invitations, entry(o))
		}
	}
	return out, nil
}

// unread is where each of the inboxes stands in the cursor from, leaving out those it read to
// their end.
func unread(from map[string]string, inboxes ...string) map[string]string {
	positions := map[string]string{}
	for _, inbox := range inboxes {
		if pos, read := from[inbox]; !read || pos != inboxDone {
			positions[inbox] = pos
		}
	}
	return positions
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

// entry describes an offer as its item holds it.
func entry(o invitation.Offer) InboxEntry {
	to := o.Target()
	e := InboxEntry{
		InvitationID: o.ID, Kind: o.Kind, Purpose: o.Purpose, ConversationID: o.ConversationID,
		Topic: o.Context.Topic, Message: o.Message, ReturnedBecause: o.ReturnedBecause, ReturnedReason: o.ReturnedReason,
		To: Addressee{Kind: to.Kind, ID: to.ID, Name: o.TargetName}, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt,
		Context: o.ContextOf(o.Context),
	}
	if o.CreatedBy != "" {
		e.InvitedBy = &Person{AgentID: o.CreatedBy, Name: o.CreatedByName}
	}
	return e
}
