// Command push-events is the PushEventsFunction Lambda: it pushes the events committed to the
// table, read from its stream, to the WebSocket connections of whoever may see them.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.PushEvents(setup.FromEnv())) }
