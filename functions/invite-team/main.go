// Command invite-team is the Lambda function behind POST /conversations/{id}/invitations/team: an agent participant invites a team, with a message.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.InviteTeam(setup.FromEnv())) }
