// Command create-pin-invitation is the Lambda function behind POST /conversations/{id}/invitations/pin: an agent participant invites a customer by PIN.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/awsclients/secrets"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() {
	lambda.Start(handlers.CreatePinInvitation(setup.FromEnv(setup.ReadSecretsWith(secrets.String))))
}
