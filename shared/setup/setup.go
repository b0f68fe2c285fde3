// Package setup builds what a function needs, once, at init: the logger, the AWS clients,
// the store and the use-case services, configured from environment variables that the SAM
// template sets. Each dependency is built on first use, so a function only builds (and only
// needs permissions for) what its handler asks for. Clients only a few functions use (SES,
// Secrets Manager) are not built here: those functions' mains wire them with an Option, so
// no other binary links the service. The local gateway uses the same Deps for every route.
package setup

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/delivery"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/logging"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// Deps holds a function's long-lived dependencies. Getters build on first call and are safe
// for concurrent use (the local gateway serves many requests at once).
type Deps struct {
	Log *slog.Logger
	Now func() time.Time

	awsOnce sync.Once
	awsCfg  aws.Config

	storeOnce sync.Once
	store     *store.Store

	convOnce sync.Once
	conv     *conversations.Service

	dirOnce sync.Once
	dir     *directory.Service

	agentsOnce sync.Once
	agents     auth.AgentTokens

	rt realtimeDeps // push and WebSocket parts, in realtime.go

	inv invitationDeps // invitation parts, in invitations.go

	ho handoverDeps // hand-over parts, in handover.go

	overrides Overrides
}

// Overrides lets tests and the local gateway supply ready-made parts instead of building
// them from the environment.
type Overrides struct {
	AWS   *aws.Config
	Store *store.Store
	// AgentTokens replaces JWT verification against JWKS_URL (tests with their own keys).
	AgentTokens auth.AgentTokens
	// Management replaces the @connections client built from WEBSOCKET_MANAGEMENT_URL (the
	// local gateway's endpoint, or a test server); with it, events are pushed.
	Management wsapi.Management
	// Invitations replaces the invitation settings and rate limits read from the environment.
	Invitations *invitations.Config
	// Mailer replaces the SES sender built from SES_FROM_ADDRESS (tests: the SES emulator).
	Mailer invitations.Mailer
	// DeploymentSecret replaces the secret read from PIN_SECRET_ARN or PIN_HMAC_SECRET.
	DeploymentSecret []byte
	// Handover replaces the hand-over settings read from the environment.
	Handover *handover.Config
	// SESEventsVerifier replaces the SNS signature check of SES events (tests: a key of their
	// own); UnsignedSESEvents switches the check off (tests and the local gateway only).
	SESEventsVerifier delivery.Verifier
	UnsignedSESEvents bool
}

// Option wires a part that only some functions use and that setup does not build itself
// (ReadSecretsWith, SendMailWith): the main of a function that needs it passes it, so only
// that function's binary links the AWS service behind it.
type Option func(*Deps)

// FromEnv is what a function's main calls.
func FromEnv(opts ...Option) *Deps {
	CheckRules()
	return With(logging.Default(), Overrides{}, opts...)
}

// With returns Deps that use the given parts where set.
func With(log *slog.Logger, o Overrides, opts ...Option) *Deps {
	d := &Deps{Log: log, Now: time.Now, overrides: o}
	for _, opt := range opts {
		opt(d)
	}
	return d
}

// AWS is the shared SDK configuration.
func (d *Deps) AWS() aws.Config {
	d.awsOnce.Do(func() {
		if d.overrides.AWS != nil {
			d.awsCfg = *d.overrides.AWS
			return
		}
		d.awsCfg = awsconfig.MustLoad()
	})
	return d.awsCfg
}

// Store is the table named by TABLE_NAME.
func (d *Deps) Store() *store.Store {
	d.storeOnce.Do(func() {
		if d.overrides.Store != nil {
			d.store = d.overrides.Store
			return
		}
		d.store = store.New(awsclients.DynamoDB(d.AWS()), config.Required("TABLE_NAME")).WithRetention(retention())
	})
	return d.store
}

// retention is how long an ended conversation is kept before TTL deletes it. At least a
// day: longer than an idempotency record lives, so no replay answers for a conversation
// that is gone.
func retention() time.Duration {
	days := int(store.DefaultRetention / (24 * time.Hour))
	return time.Duration(intSetting(RetentionDaysVar, days)) * 24 * time.Hour
}

// Conversations is the conversation service.
func (d *Deps) Conversations() *conversations.Service {
	d.convOnce.Do(func() {
		st := d.Store()
		d.conv = &conversations.Service{
			Store:         st,
			Now:           d.Now,
			Directory:     d.Store(),
			SessionTTL:    sessionTTL(),
			DefaultTeamID: d.Handover().Config.DefaultTeamID, // one setting for starts and leaves
			Offers:        d.Handover(),
			StartLimit:    startLimit{d.RateLimiter(), d.RateLimits().ConversationStartsPerIP, d.RateLimits().ConversationStartsPerTeam},
		}
	})
	return d.conv
}

// Directory lists agents and teams with availability.
func (d *Deps) Directory() *directory.Service {
	d.dirOnce.Do(func() {
		d.dir = &directory.Service{Store: d.Store(), Presence: d.presence()}
	})
	return d.dir
}

// presence says which agents are connected; the store knows live WebSocket connections.
func (d *Deps) presence() directory.Presence {
	if p, ok := any(d.Store()).(directory.Presence); ok {
		return p
	}
	return nil
}

// Background is the context used for init-time work.
func Background() context.Context { return context.Background() }

// Resolver turns Authorization headers into principals.
func (d *Deps) Resolver() auth.Resolver {
	return auth.Resolver{Agents: d.AgentTokens(), Visitors: d.Store()}
}

// AgentTokens verifies agent JWTs against the identity provider's JWKS.
func (d *Deps) AgentTokens() auth.AgentTokens {
	d.agentsOnce.Do(func() {
		if d.overrides.AgentTokens != nil {
			d.agents = d.overrides.AgentTokens
			return
		}
		d.agents = newAgentVerifier()
	})
	return d.agents
}

// startLimit applies the rules for anonymous conversation starts: per client, and per team
// the start is offered to.
type startLimit struct {
	limiter        *ratelimit.Limiter
	perIP, perTeam ratelimit.Rule
}

// AllowAnonymousStart counts the start in both windows at once: one round trip, not two. A
// client refused for itself (or whose count failed) gives the team's slot back, so starts
// refused per client never count against a team; a lost refund leaves the team one start
// fewer until its window ends.
func (l startLimit) AllowAnonymousStart(ctx context.Context, clientIP, teamID string) error {
	var (
		wg                 sync.WaitGroup
		client, team       ratelimit.Slot
		clientErr, teamErr error
	)
	wg.Go(func() { client, clientErr = l.limiter.Take(ctx, l.perIP, ratelimit.ClientKey(clientIP)) })
	wg.Go(func() { team, teamErr = l.limiter.Take(ctx, l.perTeam, teamID) })
	wg.Wait()
	if clientErr != nil || !client.OK {
		_ = l.limiter.Refund(ctx, team)
	}
	if err := errors.Join(clientErr, teamErr); err != nil {
		return apperror.Internal(err)
	}
	if !client.OK {
		return client.Err()
	}
	return team.Err()
}

// sessionTTL is how long a visitor session lives, whether started or redeemed.
func sessionTTL() time.Duration {
	return config.Hours(SessionTTLHoursVar, 12, Ranges[SessionTTLHoursVar])
}
