// Command email-delivery is the Lambda function behind the SNS topic of SES's event notifications: an invitation email's delivery (sent, delayed, delivered, bounced, complained, failed) is recorded and pushed to the conversation's agents.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.EmailDelivery(setup.FromEnv())) }
