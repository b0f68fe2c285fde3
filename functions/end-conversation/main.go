// Command end-conversation is the Lambda function behind POST /conversations/{id}/end: an agent participant ends the conversation for everyone..
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.EndConversation(setup.FromEnv())) }
