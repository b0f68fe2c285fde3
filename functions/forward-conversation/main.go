// Command forward-conversation is the Lambda function behind POST /conversations/{id}/forward: an agent participant forwards the conversation to an agent or a team.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ForwardConversation(setup.FromEnv())) }
