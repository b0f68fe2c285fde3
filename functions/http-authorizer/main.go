// Command http-authorizer is the Lambda function that resolves the caller of every HTTP API request.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.HTTPAuthorizer(setup.FromEnv())) }
