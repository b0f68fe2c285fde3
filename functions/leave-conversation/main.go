// Command leave-conversation is the Lambda function behind POST /conversations/{id}/leave: a participant leaves; a visitor's session ends..
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.LeaveConversation(setup.FromEnv())) }
