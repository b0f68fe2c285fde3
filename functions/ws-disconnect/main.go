// Command ws-disconnect is the Lambda function behind the WebSocket $disconnect route: forgets the connection.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.WsDisconnect(setup.FromEnv())) }
