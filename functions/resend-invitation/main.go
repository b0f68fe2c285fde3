// Command resend-invitation is the Lambda function behind POST /conversations/{id}/invitations/{invitationId}/resend: a new PIN, or the invitation email again with a new link.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ResendInvitation(setup.FromEnv())) }
