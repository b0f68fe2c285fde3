package devdata

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// The sample data that events/*.json names, so that `sam local invoke <Fn> -e events/<fn>.json`
// against `make dev` reaches real items. The ids and secrets are fixed and public: local only.
const (
	SampleConversationID      = "conv_sample"       // held by ada, with the customer Sam
	SampleGraceConversationID = "conv_sample_grace" // held by grace, who invited ada
	SampleVisitorID           = "vis_sample"        // Sam, the customer in conv_sample
	SampleEmailInvitationID   = "inv_sample"        // an email invitation of conv_sample (carl@example.com)
	SamplePINInvitationID     = "inv_sample_pin"    // a PIN invitation of conv_sample
	SampleInvitationForAdaID  = "inv_sample_for_ada"
	SampleWaitingID           = "vis_sample_lobby"         // Lou, waiting in conv_sample's lobby (admitted by the sample)
	SampleWaitingRefusedID    = "vis_sample_lobby_refused" // Rex, waiting in conv_sample's lobby (refused by the sample)
	SampleConnectionID        = "c2FtcGxlQ29ubj0="         // ada's open WebSocket connection
	SamplePIN                 = "123456789"
	// SampleSESMessageID is the MessageId SES "gave" inv_sample's email: the SES event record
	// of events/email-delivery.json names it.
	SampleSESMessageID = "0100019ac0ffee00-sample-carl-000000"
)

// Sample secrets: 32 readable bytes in base64url, the shape of every real token (43 characters).
var (
	SampleVisitorSessionToken = sampleToken("sample-visitor-session-token-sam")
	SampleJoinToken           = sampleToken("sample-join-token-for-carl-00001")
	SampleConnectTicket       = sampleToken("sample-connect-ticket-for-ada-01")
)

func sampleToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// sampleLifetime keeps the sample secrets working for a whole working day of `make dev`, where
// real PINs live minutes and tickets seconds.
const sampleLifetime = 12 * time.Hour

// SeedSamples writes the sample conversations, participants, invitations, ticket and
// connection. pins must be the PIN key the functions use (PIN_HMAC_SECRET), or the sample PIN
// would not redeem. A table that already holds them (kept by DEV_PERSIST) is left as it is:
// they may have been used since, and every write refuses to overwrite.
func SeedSamples(ctx context.Context, st *store.Store, pins invitation.PINKey, now time.Time) error {
	switch _, err := st.Conversation(ctx, SampleConversationID); {
	case err == nil:
		return nil
	case !store.IsNotFound(err):
		return fmt.Errorf("look for the samples: %w", err)
	}
	steps := []struct {
		what string
		run  func() error
	}{
		{"conversation " + SampleConversationID, func() error { return seedHeldConversation(ctx, st, SampleConversationID, "ada", "Ada Lovelace", now) }},
		{"customer " + SampleVisitorID, func() error { return seedVisitor(ctx, st, now) }},
		{"waiting customers", func() error { return seedWaiting(ctx, st, now) }},
		{"PIN invitation", func() error { return seedCustomerInvitation(ctx, st, pinInvitation(pins, now)) }},
		{"email invitation", func() error { return seedCustomerInvitation(ctx, st, emailInvitation(now)) }},
		{"email invitation's MessageId", func() error { return seedSentEmail(ctx, st, now) }},
		{"conversation " + SampleGraceConversationID, func() error {
			return seedHeldConversation(ctx, st, SampleGraceConversationID, "grace", "Grace Hopper", now)
		}},
		{"invitation for ada", func() error { return seedInvitationForAda(ctx, st, now) }},
		{"connect ticket", func() error {
			return st.PutTicket(ctx, store.Ticket{Hash: ids.Hash(SampleConnectTicket), Kind: "agent", AgentID: "ada", ExpiresAt: now.Add(sampleLifetime)})
		}},
		{"connection", func() error {
			return st.PutConnection(ctx, store.Connection{ID: SampleConnectionID, PrincipalKey: store.AgentPrincipal("ada"), Kind: "agent", AgentID: "ada", ConnectedAt: now})
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("sample %s: %w", s.what, err)
		}
	}
	return nil
}

func seedHeldConversation(ctx context.Context, st *store.Store, id, agentID, name string, now time.Time) error {
	conv := conversation.Conversation{
		ID: id, Status: conversation.StatusOpen, Topic: "Question about my order",
		TeamID: "support", Assignee: agentID, CreatedAt: now,
	}
	agent := conversation.Participant{
		ConversationID: id, ID: conversation.AgentParticipantID(agentID), Kind: conversation.KindAgent,
		AgentID: agentID, DisplayName: name, JoinedAt: now,
	}
	events := []conversation.Event{
		{
			ConversationID: id, Type: conversation.EventConversationStarted, At: now,
			Audience: conversation.AudienceEveryone, ActorID: agent.ID, Data: map[string]any{"topic": conv.Topic},
		},
		invitation.JoinedEvent(agent, now),
		{
			ConversationID: id, Type: conversation.EventConversationAssigned, At: now,
			Audience: conversation.AudienceEveryone, ActorID: agent.ID, Data: map[string]any{"agentId": agentID, "displayName": name},
		},
	}
	return st.CreateConversation(ctx, store.NewConversation{Conversation: conv, Participant: agent, Events: events})
}

func seedVisitor(ctx context.Context, st *store.Store, now time.Time) error {
	sam := conversation.Participant{
		ConversationID: SampleConversationID, ID: SampleVisitorID, Kind: conversation.KindVisitor,
		DisplayName: "Sam Sample", JoinedAt: now, SessionHash: ids.Hash(SampleVisitorSessionToken),
	}
	session := store.Session{Hash: sam.SessionHash, ConversationID: sam.ConversationID, ParticipantID: sam.ID, ExpiresAt: now.Add(sampleLifetime)}
	return st.AddParticipant(ctx, sam, &session, []conversation.Event{invitation.JoinedEvent(sam, now)})
}

// seedWaiting puts two invitees in conv_sample's lobby, as a redemption of an invitation with
// admit "agent" does, for the admit and refuse samples.
func seedWaiting(ctx context.Context, st *store.Store, now time.Time) error {
	for id, name := range map[string]string{SampleWaitingID: "Lou Lobby", SampleWaitingRefusedID: "Rex Lobby"} {
		p := conversation.Participant{
			ConversationID: SampleConversationID, ID: id, Kind: conversation.KindVisitor, DisplayName: name, JoinedAt: now,
			State: conversation.StateWaiting, Admit: conversation.AdmitAgent, WaitingUntil: now.Add(sampleLifetime).Truncate(time.Second),
		}
		if err := st.AddParticipant(ctx, p, nil, []conversation.Event{conversation.WaitingEvent(p, now)}); err != nil {
			return err
		}
	}
	return nil
}

func pinInvitation(pins invitation.PINKey, now time.Time) invitation.Invitation {
	return invitation.Invitation{
		ID: SamplePINInvitationID, ConversationID: SampleConversationID, Kind: invitation.KindPIN,
		Status: invitation.StatusPending, CreatedBy: "ada", CreatedAt: now, ExpiresAt: now.Add(sampleLifetime),
		SecretHash: pins.Hash(SamplePIN),
	}
}

func emailInvitation(now time.Time) invitation.Invitation {
	return invitation.Invitation{
		ID: SampleEmailInvitationID, ConversationID: SampleConversationID, Kind: invitation.KindEmail,
		Status: invitation.StatusPending, CreatedBy: "ada", CreatedAt: now, ExpiresAt: now.Add(sampleLifetime),
		Email: "carl@example.com", Name: "Carl", SendCount: 1, LastSentAt: now,
		SecretHash: ids.Hash(SampleJoinToken), Delivery: invitation.DeliverySending, DeliveryAt: now,
	}
}

// seedSentEmail records SES's answer to inv_sample's email, as the create function does.
func seedSentEmail(ctx context.Context, st *store.Store, now time.Time) error {
	waiting := emailInvitation(now)
	sent, _ := waiting.SentAs(SampleSESMessageID, waiting.SendCount, now)
	return st.RecordSent(ctx, waiting, sent)
}

func seedCustomerInvitation(ctx context.Context, st *store.Store, inv invitation.Invitation) error {
	created := invitation.CreatedEvent(inv, conversation.AgentParticipantID(inv.CreatedBy), inv.CreatedAt)
	return st.CreateInvitation(ctx, inv, []conversation.Event{created})
}

func seedInvitationForAda(ctx context.Context, st *store.Store, now time.Time) error {
	o := invitation.NewAgentInvitation(SampleGraceConversationID, "grace", invitation.Target{Kind: invitation.TargetAgent, ID: "ada"},
		"Could you take a look at this refund?", now, sampleLifetime)
	o.ID = SampleInvitationForAdaID
	o.CreatedByName, o.TargetName = "Grace Hopper", "Ada Lovelace" // as the inbox shows them
	grace := conversation.Participant{ConversationID: SampleGraceConversationID, ID: conversation.AgentParticipantID("grace")}
	return st.Invite(ctx, o, grace, []conversation.Event{invitation.OfferedEvent(o, grace.ID, now)})
}

// SamEnv reads the Parameters of a `sam local --env-vars` file (local/sam-env.json): the
// settings every function gets when `sam local` runs it against this machine's stack.
func SamEnv(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.Parameters, nil
}
