// Command refuse-participant is the Lambda function behind POST /conversations/{id}/participants/{participantId}/refuse: a waiting invitee is turned away; their session ends.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.RefuseParticipant(setup.FromEnv())) }
