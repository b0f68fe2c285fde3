package setup

import "github.com/invite-forward/invite-forward/shared/config"

// SessionTTLHoursVar is the lifetime of a visitor session.
const SessionTTLHoursVar = "SESSION_TTL_HOURS"

// RetentionDaysVar is how long an ended conversation is kept, in days (store/retention.go).
const RetentionDaysVar = "RETENTION_DAYS"

// Ranges bounds every whole-number setting exactly as template.yaml bounds the parameter
// that sets it (a test compares the two): a function refuses at init what `sam deploy` would
// have refused.
var Ranges = map[string]config.Range{
	PINLengthVar:                     {Min: 6, Max: 18},
	PINTTLMinutesVar:                 {Min: 1, Max: 10},
	JoinTokenTTLHoursVar:             {Min: 1, Max: 168},
	LobbyTimeoutMinutesVar:           {Min: 1, Max: 1440},
	SessionTTLHoursVar:               {Min: 1, Max: 168},
	RetentionDaysVar:                 {Min: 1, Max: 3650},
	ForwardTimeoutMinutesVar:         {Min: 1, Max: 1440},
	InvitationTTLMinutesVar:          {Min: 1, Max: 1440},
	UnansweredMinutesVar:             {Min: 1, Max: 1440},
	RatePINFailuresPerIPVar:          {Min: 5, Max: 100},
	RatePINFailuresEverywhereVar:     {Min: 8, Max: 100000},
	RateJoinTokenFailuresPerIPVar:    {Min: 1, Max: 1000},
	RateConversationStartsPerIPVar:   {Min: 1, Max: 100000},
	RateConversationStartsPerTeamVar: {Min: 1, Max: 1000000},
	RateEmailsPerAgentVar:            {Min: 1, Max: 10000},
}

func intSetting(name string, def int) int { return config.IntIn(name, def, Ranges[name]) }
