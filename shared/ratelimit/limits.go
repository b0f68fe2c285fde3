package ratelimit

import (
	"fmt"
	"time"
)

// Limits are the deployment's rules. The defaults keep PIN guessing below a 0.1% chance per
// PIN lifetime while a customer who mistypes gets 10 tries (README, "Why PINs cannot be
// guessed"); the template's Parameters change them.
type Limits struct {
	// PINFailuresPerIP bounds failed PIN redemptions of one client.
	PINFailuresPerIP Rule
	// PINFailuresEverywhere is the deployment-wide budget every attempt but a client's first
	// in its window takes a share of: what bounds an attacker with many addresses without ever
	// refusing a customer with a clean record. Its limit is split over BudgetShards counters.
	PINFailuresEverywhere Rule
	// JoinTokenFailuresPerIP bounds failed join-token redemptions of one client. Tokens
	// cannot be guessed; the limit only keeps the table from being hammered.
	JoinTokenFailuresPerIP Rule
	// ConversationStartsPerIP bounds anonymous conversation starts of one client.
	ConversationStartsPerIP Rule
	// ConversationStartsPerTeam bounds anonymous starts offered to one team, from anywhere:
	// the public cannot grow a team's inbox without bound (SPEC §5, abuse).
	ConversationStartsPerTeam Rule
	// EmailsPerAgent bounds invitation emails (first sends and resends) of one agent, so the
	// product cannot be used to send mail to arbitrary people in bulk.
	EmailsPerAgent Rule
}

// Windows of the rules. PIN failures everywhere use one-minute windows: a fixed window lets
// a burst straddle two windows, and with short windows that excess is small compared with a
// PIN's ten-minute life (at most 11 windows touch any 10 minutes).
const (
	PINFailuresPerIPWindow          = 10 * time.Minute
	PINFailuresEverywhereWindow     = time.Minute
	JoinTokenFailuresPerIPWindow    = 10 * time.Minute
	ConversationStartsPerIPWindow   = time.Hour
	ConversationStartsPerTeamWindow = time.Hour
	EmailsPerAgentWindow            = time.Hour
)

// Default limits per window.
const (
	DefaultPINFailuresPerIP          = 10
	DefaultPINFailuresEverywhere     = 48
	DefaultJoinTokenFailuresPerIP    = 20
	DefaultConversationStartsPerIP   = 60
	DefaultConversationStartsPerTeam = 1000
	DefaultEmailsPerAgent            = 30
)

// DefaultLimits are the limits with the default numbers.
func DefaultLimits() Limits {
	return NewLimits(DefaultPINFailuresPerIP, DefaultPINFailuresEverywhere, DefaultJoinTokenFailuresPerIP,
		DefaultConversationStartsPerIP, DefaultEmailsPerAgent)
}

// NewLimits builds the rules from the numbers per window.
func NewLimits(pinPerIP, pinEverywhere, joinPerIP, startsPerIP, emailsPerAgent int) Limits {
	return Limits{
		PINFailuresPerIP:          Rule{Name: "pin-fail-ip", Limit: pinPerIP, Window: PINFailuresPerIPWindow},
		PINFailuresEverywhere:     Rule{Name: "pin-fail-all", Limit: pinEverywhere, Window: PINFailuresEverywhereWindow},
		JoinTokenFailuresPerIP:    Rule{Name: "join-fail-ip", Limit: joinPerIP, Window: JoinTokenFailuresPerIPWindow},
		ConversationStartsPerIP:   Rule{Name: "start-ip", Limit: startsPerIP, Window: ConversationStartsPerIPWindow},
		ConversationStartsPerTeam: Rule{Name: "start-team", Limit: DefaultConversationStartsPerTeam, Window: ConversationStartsPerTeamWindow},
		EmailsPerAgent:            Rule{Name: "email-agent", Limit: emailsPerAgent, Window: EmailsPerAgentWindow},
	}
}

// Validate refuses a rule that would block everything or has no window.
func (l Limits) Validate() error {
	if l.PINFailuresEverywhere.Limit < BudgetShards {
		return fmt.Errorf("ratelimit: the deployment-wide PIN budget must be at least %d (one per shard)", BudgetShards)
	}
	for _, r := range []Rule{l.PINFailuresPerIP, l.PINFailuresEverywhere, l.JoinTokenFailuresPerIP, l.ConversationStartsPerIP, l.ConversationStartsPerTeam, l.EmailsPerAgent} {
		if r.Limit < 1 || r.Window <= 0 || r.Name == "" {
			return fmt.Errorf("ratelimit: rule %q needs a limit of at least 1 and a window", r.Name)
		}
	}
	return nil
}
