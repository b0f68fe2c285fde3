// Command list-teams is the Lambda function behind GET /teams: teams with members and availability..
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.ListTeams(setup.FromEnv())) }
