package apitest

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// Invitation settings of a test deployment: links may go to AppOrigin only, falling back to
// JoinPage; mail goes out from MailFrom through the SES emulator.
const (
	AppOrigin   = "https://app.example.com"
	JoinPage    = AppOrigin + "/join"
	MailFrom    = "Example Bank <invites@example.com>"
	CompanyName = "Example Bank"
)

// withInvitationDefaults gives every test deployment what the invitation functions need
// without AWS: a random deployment secret, settings, and the SES emulator as mailer (started
// only when a test sends mail).
func withInvitationDefaults(t testing.TB, ov *setup.Overrides) {
	secret := make([]byte, 64)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	ov.DeploymentSecret = secret
	ov.Mailer = &lazyMailer{t: t}
	cfg := invitations.DefaultConfig()
	cfg.AllowedOrigins = []string{AppOrigin}
	cfg.DefaultJoinPage = JoinPage
	cfg.CompanyName = CompanyName
	cfg.SessionTTL = 0 // the conversation service's
	ov.Invitations = &cfg
}

// lazyMailer sends through the SES emulator, starting it on first use.
type lazyMailer struct {
	t      testing.TB
	once   sync.Once
	sender *sesmail.Sender
}

func (m *lazyMailer) Send(ctx context.Context, to string, msg mail.Message) (string, error) {
	m.once.Do(func() { m.sender = sesmail.NewSender(testenv.SES(m.t), MailFrom, "") })
	return m.sender.Send(ctx, to, msg)
}
