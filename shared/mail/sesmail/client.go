package sesmail

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// Environment variables of the sender, set from template Parameters.
const (
	// FromAddressVar is the verified identity invitations are sent from.
	FromAddressVar = "SES_FROM_ADDRESS"
	// ConfigurationSetVar optionally names the SES configuration set (bounce and complaint
	// events).
	ConfigurationSetVar = "SES_CONFIGURATION_SET"
	// EndpointVar points the client at the SES emulator under `sam local`; the SDK's own
	// AWS_ENDPOINT_URL_SESV2 works too.
	EndpointVar = "SES_ENDPOINT"
)

// FromEnv is the sender of a function that sends mail, built once at init from
// SES_FROM_ADDRESS and SES_CONFIGURATION_SET.
func FromEnv(cfg aws.Config) *Sender {
	return NewSender(Client(cfg), config.Required(FromAddressVar), config.String(ConfigurationSetVar, ""))
}

// Client returns an SES v2 client; SES_ENDPOINT or AWS_ENDPOINT_URL_SESV2 point it at the SES
// emulator.
func Client(cfg aws.Config) *sesv2.Client {
	if endpoint := os.Getenv(EndpointVar); endpoint != "" {
		return ClientAt(cfg, endpoint)
	}
	return sesv2.NewFromConfig(cfg, instrumented)
}

// ClientAt returns an SES v2 client for an explicit endpoint (tests and local tools).
func ClientAt(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, instrumented, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// instrumented lets tests and the local stack fail chosen SES calls (shared/faults), and
// keeps SES out of a keyed action's speculation (idempotency.Middleware).
func instrumented(o *sesv2.Options) {
	o.APIOptions = append(o.APIOptions, faults.Middleware, idempotency.Middleware)
}
