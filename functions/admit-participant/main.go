// Command admit-participant is the Lambda function behind POST /conversations/{id}/participants/{participantId}/admit: an agent (or, where the invitation says so, a customer) lets a waiting invitee in.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.AdmitParticipant(setup.FromEnv())) }
