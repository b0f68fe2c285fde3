package handlers

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/delivery"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// EmailDelivery consumes SES's event notifications about invitation emails, delivered by SNS
// (SPEC §9.1). A storage failure is returned to the runtime, so Lambda retries the message;
// a malformed or forged record is logged and dropped.
func EmailDelivery(d *setup.Deps) func(context.Context, delivery.SNSEvent) (delivery.Report, error) {
	return d.Delivery().Consume
}
