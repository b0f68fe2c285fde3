// Command list-agents is the Lambda function behind GET /agents: the agent directory with availability..
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ListAgents(setup.FromEnv())) }
