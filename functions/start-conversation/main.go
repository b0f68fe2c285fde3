// Command start-conversation is the Lambda function behind POST /conversations.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/awsclients/secrets"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() {
	lambda.Start(handlers.StartConversation(setup.FromEnv(setup.ReadSecretsWith(secrets.String))))
}
