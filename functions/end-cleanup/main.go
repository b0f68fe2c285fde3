// Command end-cleanup is the EndCleanupFunction Lambda: the table's stream brings it each
// conversation.ended, and it revokes the invitations the end left pending and deletes the
// visitors' sessions.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func main() { lambda.Start(handlers.EndCleanup(setup.FromEnv())) }
