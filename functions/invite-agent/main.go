// Command invite-agent is the Lambda function behind POST /conversations/{id}/invitations/agent: an agent participant invites an agent, with a message.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.InviteAgent(setup.FromEnv())) }
