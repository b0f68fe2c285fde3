// Command resend-invitation is the Lambda function behind POST /conversations/{id}/invitations/{invitationId}/resend: a new PIN, or the invitation email again with a new link.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/awsclients/secrets"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() {
	d := setup.FromEnv(setup.ReadSecretsWith(secrets.String), setup.SendMailWith(sesmail.FromEnv))
	lambda.Start(handlers.ResendInvitation(d))
}
