// Command list-invitations is the Lambda function behind GET /conversations/{id}/invitations: an agent participant lists the conversation's invitations with their status.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ListInvitations(setup.FromEnv())) }
