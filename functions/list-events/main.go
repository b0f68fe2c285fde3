// Command list-events is the Lambda function behind GET /conversations/{id}/events: conversation history, paginated and filtered by audience..
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ListEvents(setup.FromEnv())) }
