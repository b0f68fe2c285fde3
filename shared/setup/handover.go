package setup

import (
	"fmt"
	"sync"

	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Environment variables of the hand-over, set from template Parameters.
const (
	// HandoverModeVar is "on-accept" (default) or "immediate" (see shared/handover).
	HandoverModeVar = "HANDOVER_MODE"
	// ForwardTimeoutMinutesVar is how long a forward waits for an answer before it comes
	// back to the forwarder.
	ForwardTimeoutMinutesVar = "FORWARD_TIMEOUT_MINUTES"
	// InvitationTTLMinutesVar is how long an agent or team invitation can be accepted.
	InvitationTTLMinutesVar = "INVITATION_TTL_MINUTES"
	// UnansweredMinutesVar is how long a conversation nobody holds waits for an agent of its
	// team before it ends as unanswered.
	UnansweredMinutesVar = "UNANSWERED_MINUTES"
	// DefaultTeamIDVar receives conversations nobody holds that name no team.
	DefaultTeamIDVar = "DEFAULT_TEAM_ID"
)

// handoverDeps are the hand-over parts of Deps.
type handoverDeps struct {
	once sync.Once
	svc  *handover.Service
}

// Handover is the hand-over service: agent and team invitations, forwards, the inbox, and
// the offer of conversations nobody holds. Invalid settings stop the function at init.
func (d *Deps) Handover() *handover.Service {
	d.ho.once.Do(func() {
		cfg := handoverConfig()
		if d.overrides.Handover != nil {
			cfg = *d.overrides.Handover
		}
		if err := cfg.Validate(); err != nil {
			panic(fmt.Sprintf("config: %v", err))
		}
		d.ho.svc = &handover.Service{Store: d.Store(), Pusher: d.Push(), Config: cfg, Now: d.Now}
	})
	return d.ho.svc
}

func handoverConfig() handover.Config {
	return handover.Config{
		Mode:            handover.Mode(config.String(HandoverModeVar, string(handover.ModeOnAccept))),
		ForwardTimeout:  config.Minutes(ForwardTimeoutMinutesVar, int(invitation.DefaultForwardTimeout.Minutes()), Ranges[ForwardTimeoutMinutesVar]),
		InvitationTTL:   config.Minutes(InvitationTTLMinutesVar, int(invitation.DefaultInvitationTTL.Minutes()), Ranges[InvitationTTLMinutesVar]),
		UnansweredAfter: config.Minutes(UnansweredMinutesVar, int(invitation.DefaultUnansweredAfter.Minutes()), Ranges[UnansweredMinutesVar]),
		DefaultTeamID:   config.String(DefaultTeamIDVar, ""),
	}
}
