// Command ws-authorizer is the Lambda function that authorizes WebSocket $connect by redeeming a connect ticket.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.WsAuthorizer(setup.FromEnv())) }
