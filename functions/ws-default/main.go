// Command ws-default is the Lambda function behind the WebSocket $default route: answers pings and refuses unknown actions.
// It wires only the @connections client: no storage, so its binary links no DynamoDB.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/logging"
	"github.com/invite-forward/invite-forward/shared/wsapi"
	"github.com/invite-forward/invite-forward/shared/wsdefault"
)

func main() {
	config.Check(logging.LevelVar, logging.LevelRule, false)
	mgmt := wsapi.NewClient(awsconfig.MustLoad(), config.Required(wsapi.EndpointVar))
	lambda.Start(wsdefault.Handler(mgmt, logging.Default()))
}
