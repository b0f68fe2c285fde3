// Command get-conversation is the Lambda function behind GET /conversations/{id}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.GetConversation(setup.FromEnv())) }
