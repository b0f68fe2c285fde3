// Command expire-invitations is the Lambda function behind the EventBridge schedule (every minute): invitations and forwards nobody answered in time expire.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ExpireInvitations(setup.FromEnv())) }
