package gateway

import (
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/wsdefault"
)

// The registry of every handler lives here, in the one program that serves them all: a
// function's main names only its own constructor, so its binary links only its own handler
// (a table in a package every main imports would link all of them into each).

// Constructor builds a function's handler from its dependencies, once.
type Constructor func(d *setup.Deps) any

// ByLogicalID maps each template function to its handler constructor.
var ByLogicalID = map[string]Constructor{
	"HttpAuthorizerFunction":      func(d *setup.Deps) any { return handlers.HTTPAuthorizer(d) },
	"StartConversationFunction":   func(d *setup.Deps) any { return handlers.StartConversation(d) },
	"GetConversationFunction":     func(d *setup.Deps) any { return handlers.GetConversation(d) },
	"ListEventsFunction":          func(d *setup.Deps) any { return handlers.ListEvents(d) },
	"PostMessageFunction":         func(d *setup.Deps) any { return handlers.PostMessage(d) },
	"LeaveConversationFunction":   func(d *setup.Deps) any { return handlers.LeaveConversation(d) },
	"EndConversationFunction":     func(d *setup.Deps) any { return handlers.EndConversation(d) },
	"AdmitParticipantFunction":    func(d *setup.Deps) any { return handlers.AdmitParticipant(d) },
	"RefuseParticipantFunction":   func(d *setup.Deps) any { return handlers.RefuseParticipant(d) },
	"ListAgentsFunction":          func(d *setup.Deps) any { return handlers.ListAgents(d) },
	"ListTeamsFunction":           func(d *setup.Deps) any { return handlers.ListTeams(d) },
	"CreateConnectTicketFunction": func(d *setup.Deps) any { return handlers.CreateConnectTicket(d) },
	"WsAuthorizerFunction":        func(d *setup.Deps) any { return handlers.WsAuthorizer(d) },
	"WsConnectFunction":           func(d *setup.Deps) any { return handlers.WsConnect(d) },
	"WsDisconnectFunction":        func(d *setup.Deps) any { return handlers.WsDisconnect(d) },
	"WsDefaultFunction":           func(d *setup.Deps) any { return wsdefault.Handler(d.Management(), d.Log) },
	// Customer invitations (PIN, email) and the routes shared by every invitation.
	"CreatePinInvitationFunction":   func(d *setup.Deps) any { return handlers.CreatePinInvitation(d) },
	"CreateEmailInvitationFunction": func(d *setup.Deps) any { return handlers.CreateEmailInvitation(d) },
	"ListInvitationsFunction":       func(d *setup.Deps) any { return handlers.ListInvitations(d) },
	"RevokeInvitationFunction":      func(d *setup.Deps) any { return handlers.RevokeInvitation(d) },
	"ResendInvitationFunction":      func(d *setup.Deps) any { return handlers.ResendInvitation(d) },
	"RedeemPinFunction":             func(d *setup.Deps) any { return handlers.RedeemPin(d) },
	"RedeemJoinTokenFunction":       func(d *setup.Deps) any { return handlers.RedeemJoinToken(d) },
	// Hand-over: agent and team invitations, forwards, the inbox, answers, expiry.
	"InviteAgentFunction":         func(d *setup.Deps) any { return handlers.InviteAgent(d) },
	"InviteTeamFunction":          func(d *setup.Deps) any { return handlers.InviteTeam(d) },
	"ForwardConversationFunction": func(d *setup.Deps) any { return handlers.ForwardConversation(d) },
	"GetInboxFunction":            func(d *setup.Deps) any { return handlers.GetInbox(d) },
	"AcceptInvitationFunction":    func(d *setup.Deps) any { return handlers.AcceptInvitation(d) },
	"DeclineInvitationFunction":   func(d *setup.Deps) any { return handlers.DeclineInvitation(d) },
	"ExpireInvitationsFunction":   func(d *setup.Deps) any { return handlers.ExpireInvitations(d) },
	// The outbox: the table's stream drives the pushes, and the end's cleanup.
	"PushEventsFunction": func(d *setup.Deps) any { return handlers.PushEvents(d) },
	"EndCleanupFunction": func(d *setup.Deps) any { return handlers.EndCleanup(d) },
	// SES's event notifications about invitation emails (SNS; locally POST /_dev/ses-events).
	"EmailDeliveryFunction": func(d *setup.Deps) any { return handlers.EmailDelivery(d) },
}
