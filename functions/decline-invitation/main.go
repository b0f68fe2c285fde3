// Command decline-invitation is the Lambda function behind POST /invitations/{invitationId}/decline: the invited agent or a team member declines, with a reason.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.DeclineInvitation(setup.FromEnv())) }
