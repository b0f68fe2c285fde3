// Command redeem-join-token is the Lambda function behind POST /join/token: a customer joins a conversation with the token of an email link.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/awsclients/secrets"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() {
	lambda.Start(handlers.RedeemJoinToken(setup.FromEnv(setup.ReadSecretsWith(secrets.String))))
}
