// Command ws-default is the Lambda function behind the WebSocket $default route: answers pings and refuses unknown actions.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.WsDefault(setup.FromEnv())) }
