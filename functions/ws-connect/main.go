// Command ws-connect is the Lambda function behind the WebSocket $connect route: records the connection under its principal.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.WsConnect(setup.FromEnv())) }
