package setup

import (
	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/logging"
)

// Rules hold every string setting to the rule of the template parameter that sets it (a test
// compares the two, as for Ranges): a function refuses at init what `sam deploy` would have
// refused. Lengths are MaxLength, not a bounded repetition in the pattern: {0,127} compiles
// to 127 copies of its class, milliseconds at every cold start.
var Rules = map[string]config.Rule{
	logging.LevelVar:   logging.LevelRule,
	HandoverModeVar:    {Values: []string{"on-accept", "immediate"}},
	DefaultTeamIDVar:   {Pattern: `^([A-Za-z0-9][A-Za-z0-9._@:-]*)?$`, MaxLength: 128},
	AllowedOriginsVar:  {Pattern: `^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$`, List: true},
	DefaultJoinPageVar: {Pattern: `^https?://\S+$`},
	CompanyNameVar:     {Pattern: `^[^\r\n<>]*$`, MaxLength: 80},
	"JWT_AUDIENCE":     {Pattern: `^\S+$`, MaxLength: 256},
	"JWT_ISSUER":       {Pattern: `^https://\S+$`, Local: `^http://\S+$`},
	"JWKS_URL":         {Pattern: `^https://\S+$`, Local: `^http://\S+$`},
	"SES_FROM_ADDRESS": {Pattern: `^[^\r\n]*@[^\r\n]+$`},
}

// CheckRules stops the function at init if a string setting breaks its rule.
func CheckRules() {
	local := config.String("DYNAMODB_ENDPOINT", "") != "" || config.String("AWS_ENDPOINT_URL_DYNAMODB", "") != ""
	for name, rule := range Rules {
		config.Check(name, rule, local)
	}
}
