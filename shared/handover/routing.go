package handover

import (
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Routing is the fallback chain part of the bodies of POST …/invitations/agent, …/team and
// …/forward (SPEC §9.2): the first target's window and up to three further targets.
type Routing struct {
	AfterSeconds *int             `json:"afterSeconds,omitempty"`
	Fallback     []FallbackTarget `json:"fallback,omitempty"`
}

// FallbackTarget is one further target of a chain, with its window.
type FallbackTarget struct {
	Kind         string `json:"kind"` // "agent" or "team"
	ID           string `json:"id"`
	AfterSeconds *int   `json:"afterSeconds,omitempty"`
}

// RouteFrom checks the chain and returns the route from the first target on: windows within
// 30 s … 1 h, at most three fallbacks, each an agent or a team with a well-formed id, none
// named twice. Whether a target exists, or is the inviter, is the use case's to say.
func (r *Routing) RouteFrom(first invitation.Target) (invitation.Route, error) {
	if len(r.Fallback) > invitation.MaxFallbacks {
		return nil, apperror.Invalid("too_many_fallbacks", "fallback names at most 3 targets")
	}
	head, err := chainTarget(first, r.AfterSeconds, "afterSeconds")
	if err != nil {
		return nil, err
	}
	route := invitation.Route{head}
	for i := range r.Fallback {
		f := &r.Fallback[i]
		f.Kind, f.ID = strings.TrimSpace(f.Kind), strings.TrimSpace(f.ID)
		kind := invitation.TargetKind(f.Kind)
		if kind != invitation.TargetAgent && kind != invitation.TargetTeam {
			return nil, apperror.Invalid("invalid_fallback_target", `each fallback kind must be "agent" or "team"`)
		}
		if f.ID == "" {
			return nil, apperror.Invalid("fallback_id_required", "each fallback needs an id")
		}
		if err := ids.Check("fallback id", f.ID); err != nil {
			return nil, err
		}
		t, err := chainTarget(invitation.Target{Kind: kind, ID: f.ID}, f.AfterSeconds, "fallback afterSeconds")
		if err != nil {
			return nil, err
		}
		if t.AfterSeconds == 0 {
			t.AfterSeconds = invitation.DefaultWindowSeconds
		}
		route = append(route, t)
	}
	for i, t := range route {
		for _, u := range route[:i] {
			if u.Target() == t.Target() {
				return nil, invitation.ErrDuplicateTarget
			}
		}
	}
	return route, nil
}

// chainTarget is a target with its window as asked (0: not given).
func chainTarget(to invitation.Target, afterSeconds *int, field string) (invitation.ChainTarget, error) {
	t := invitation.ChainTarget{Kind: to.Kind, ID: to.ID}
	if afterSeconds == nil {
		return t, nil
	}
	if *afterSeconds < invitation.MinWindowSeconds || *afterSeconds > invitation.MaxWindowSeconds {
		return t, apperror.Invalid("invalid_after_seconds", field+" must be between 30 and 3600")
	}
	t.AfterSeconds = *afterSeconds
	return t, nil
}
