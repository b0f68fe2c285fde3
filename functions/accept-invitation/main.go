// Command accept-invitation is the Lambda function behind POST /invitations/{invitationId}/accept: the invited agent or a team member joins.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.AcceptInvitation(setup.FromEnv())) }
