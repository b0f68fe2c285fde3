// Command redeem-pin is the Lambda function behind POST /join/pin: a customer joins a conversation with a PIN.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/awsclients/secrets"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() {
	lambda.Start(handlers.RedeemPin(setup.FromEnv(setup.ReadSecretsWith(secrets.String))))
}
