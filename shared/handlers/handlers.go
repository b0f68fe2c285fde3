// Package handlers has the Lambda handler of every function, keyed by the function's logical
// id in template.yaml. A function's main only calls its constructor; the local gateway calls
// the same constructors for the routes the template declares, so what runs locally is what
// runs in AWS.
package handlers

import (
	"github.com/invite-forward/invite-forward/shared/setup"
)

// Constructor builds a function's handler from its dependencies, once.
type Constructor func(d *setup.Deps) any

// ByLogicalID maps each template function to its handler constructor.
var ByLogicalID = map[string]Constructor{
	"HttpAuthorizerFunction":      func(d *setup.Deps) any { return HTTPAuthorizer(d) },
	"StartConversationFunction":   func(d *setup.Deps) any { return StartConversation(d) },
	"GetConversationFunction":     func(d *setup.Deps) any { return GetConversation(d) },
	"ListEventsFunction":          func(d *setup.Deps) any { return ListEvents(d) },
	"PostMessageFunction":         func(d *setup.Deps) any { return PostMessage(d) },
	"LeaveConversationFunction":   func(d *setup.Deps) any { return LeaveConversation(d) },
	"EndConversationFunction":     func(d *setup.Deps) any { return EndConversation(d) },
	"ListAgentsFunction":          func(d *setup.Deps) any { return ListAgents(d) },
	"ListTeamsFunction":           func(d *setup.Deps) any { return ListTeams(d) },
	"CreateConnectTicketFunction": func(d *setup.Deps) any { return CreateConnectTicket(d) },
	"WsAuthorizerFunction":        func(d *setup.Deps) any { return WsAuthorizer(d) },
	"WsConnectFunction":           func(d *setup.Deps) any { return WsConnect(d) },
	"WsDisconnectFunction":        func(d *setup.Deps) any { return WsDisconnect(d) },
	"WsDefaultFunction":           func(d *setup.Deps) any { return WsDefault(d) },
	// Customer invitations (PIN, email) and the routes shared by every invitation.
	"CreatePinInvitationFunction":   func(d *setup.Deps) any { return CreatePinInvitation(d) },
	"CreateEmailInvitationFunction": func(d *setup.Deps) any { return CreateEmailInvitation(d) },
	"ListInvitationsFunction":       func(d *setup.Deps) any { return ListInvitations(d) },
	"RevokeInvitationFunction":      func(d *setup.Deps) any { return RevokeInvitation(d) },
	"ResendInvitationFunction":      func(d *setup.Deps) any { return ResendInvitation(d) },
	"RedeemPinFunction":             func(d *setup.Deps) any { return RedeemPin(d) },
	"RedeemJoinTokenFunction":       func(d *setup.Deps) any { return RedeemJoinToken(d) },
	// Hand-over: agent and team invitations, forwards, the inbox, answers, expiry.
	"InviteAgentFunction":         func(d *setup.Deps) any { return InviteAgent(d) },
	"InviteTeamFunction":          func(d *setup.Deps) any { return InviteTeam(d) },
	"ForwardConversationFunction": func(d *setup.Deps) any { return ForwardConversation(d) },
	"GetInboxFunction":            func(d *setup.Deps) any { return GetInbox(d) },
	"AcceptInvitationFunction":    func(d *setup.Deps) any { return AcceptInvitation(d) },
	"DeclineInvitationFunction":   func(d *setup.Deps) any { return DeclineInvitation(d) },
	"ExpireInvitationsFunction":   func(d *setup.Deps) any { return ExpireInvitations(d) },
}
