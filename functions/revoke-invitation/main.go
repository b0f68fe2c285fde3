// Command revoke-invitation is the Lambda function behind DELETE /conversations/{id}/invitations/{invitationId}: an agent participant revokes a pending invitation.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.RevokeInvitation(setup.FromEnv())) }
