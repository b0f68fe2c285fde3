// Command get-inbox is the Lambda function behind GET /inbox: the invitations, forwards and offers waiting for the calling agent.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.GetInbox(setup.FromEnv())) }
