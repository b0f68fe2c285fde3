// Command create-connect-ticket is the Lambda function behind POST /connect-ticket: a short-lived, single-use ticket for opening the WebSocket.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.CreateConnectTicket(setup.FromEnv())) }
