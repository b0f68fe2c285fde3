package setup

import (
	"fmt"

	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/delivery"
	"github.com/invite-forward/invite-forward/shared/snsverify"
)

// UnsignedSESEventsVar is the local-only switch that lets EmailDelivery accept SES event
// records without an SNS signature: `sam local invoke` with events/email-delivery.json, whose
// signature no key made. It is honoured only while the function talks to a local DynamoDB
// (DYNAMODB_ENDPOINT or AWS_ENDPOINT_URL_DYNAMODB set, which a deployed stack never does);
// otherwise the function refuses to start. The template declares it as a fixed "" — never
// from a parameter — so a deployment cannot turn it on (shared/samtemplate tests that).
const UnsignedSESEventsVar = "LOCAL_UNSIGNED_SES_EVENTS"

// unsignedSESEventsOn is the one value that turns the switch on.
const unsignedSESEventsOn = "accept"

// Delivery is the service that consumes SES's event notifications.
func (d *Deps) Delivery() *delivery.Service {
	return &delivery.Service{Store: d.Store(), Publisher: d.Publisher(), Verifier: d.sesEventsVerifier(), Log: d.Log, Now: d.Now}
}

// sesEventsVerifier checks SNS signatures, unless a local run switched that off.
func (d *Deps) sesEventsVerifier() delivery.Verifier {
	switch {
	case d.overrides.SESEventsVerifier != nil:
		return d.overrides.SESEventsVerifier
	case d.overrides.UnsignedSESEvents:
		return nil
	}
	switch v := config.String(UnsignedSESEventsVar, ""); v {
	case "":
		return snsverify.New(nil)
	case unsignedSESEventsOn:
		if config.String("DYNAMODB_ENDPOINT", "") == "" && config.String("AWS_ENDPOINT_URL_DYNAMODB", "") == "" {
			panic(fmt.Sprintf("setup: %s is for local runs only, and this function talks to AWS's DynamoDB (DYNAMODB_ENDPOINT is empty)", UnsignedSESEventsVar))
		}
		d.Log.Warn("SES events are accepted without an SNS signature: a local run", "switch", UnsignedSESEventsVar)
		return nil
	default:
		panic(fmt.Sprintf("setup: %s=%q: the only value is %q (local runs only)", UnsignedSESEventsVar, v, unsignedSESEventsOn))
	}
}
