// Command post-message is the Lambda function behind POST /conversations/{id}/messages: a participant posts a message..
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.PostMessage(setup.FromEnv())) }
