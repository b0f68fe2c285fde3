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
}
