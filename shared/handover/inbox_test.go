package handover_test

import (
	"slices"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/handover"
)

// inboxPage reads one page of an agent's inbox.
func (w *world) inboxPage(agentID, cursor string, limit string) handover.Inbox {
	w.t.Helper()
	q := map[string]string{"limit": limit}
	if cursor != "" {
		q["cursor"] = cursor
	}
	resp := w.api.Do(apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox", Query: q, Authorization: w.bearer(agentID)})
	if resp.Status != 200 {
		w.t.Fatalf("inbox page: %d %s", resp.Status, resp.Body)
	}
	var in handover.Inbox
	resp.Decode(w.t, &in)
	return in
}

// TestInbox_PagesThroughTheAgentsAndTheirTeamsInboxesNewestFirst (SPEC §4): a page holds at
// most limit entries; following nextCursor gives every offer of the agent's own inbox and of
// each of their teams' exactly once, newest first across them, as one big page would.
func TestInbox_PagesThroughTheAgentsAndTheirTeamsInboxesNewestFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	for i := range 7 { // grace: support and billing member, and invited herself
		switch i % 3 {
		case 0:
			w.startAsVisitor("support")
		case 1:
			w.startAsVisitor("billing")
		default:
			conv, _, _ := w.startAsAgent("ada")
			if r := w.inviteAgent(conv, "ada", "grace", "a hand?"); r.Status != 201 {
				t.Fatalf("invite: %d %s", r.Status, r.Body)
			}
		}
		w.clock.Advance(time.Second)
	}
	all := w.inboxPage("grace", "", "100")
	if len(all.Invitations) != 7 || all.NextCursor != "" {
		t.Fatalf("one page of 100: %d entries, next %q", len(all.Invitations), all.NextCursor)
	}
	var paged []handover.InboxEntry
	cursor, pages := "", 0
	for {
		p := w.inboxPage("grace", cursor, "3")
		if len(p.Invitations) > 3 {
			t.Fatalf("a page of limit 3 holds %d", len(p.Invitations))
		}
		paged, pages = append(paged, p.Invitations...), pages+1
		if p.NextCursor == "" || pages > 5 {
			break
		}
		cursor = p.NextCursor
	}
	ids := func(es []handover.InboxEntry) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.InvitationID
		}
		return out
	}
	if !slices.Equal(ids(paged), ids(all.Invitations)) {
		t.Fatalf("paged %v\nwhole  %v", ids(paged), ids(all.Invitations))
	}
	if !slices.IsSortedFunc(paged, func(a, b handover.InboxEntry) int { return b.CreatedAt.Compare(a.CreatedAt) }) {
		t.Fatal("not newest first")
	}
	for _, bad := range []string{"not-base64!", "eyJ4IjoxfQ"} {
		resp := w.api.Do(apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox",
			Query: map[string]string{"cursor": bad}, Authorization: w.bearer("grace")})
		if resp.Status != 400 || resp.ErrorCode() != "invalid_cursor" {
			t.Errorf("cursor %q: %d %s, want 400 invalid_cursor", bad, resp.Status, resp.Body)
		}
	}
}
