// Command create-email-invitation is the Lambda function behind POST /conversations/{id}/invitations/email: an agent participant invites a customer by an email with a join link.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() {
	lambda.Start(handlers.CreateEmailInvitation(setup.FromEnv(setup.SendMailWith(sesmail.FromEnv))))
}
