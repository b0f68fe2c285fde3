package sesmail_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestInvitationEmail_EmulatorRefusalIsEmailNotSent covers the emulator's untyped errors:
// it refuses a message without a sender with a bare 400, which must still reach the caller
// as email_not_sent.
func TestInvitationEmail_EmulatorRefusalIsEmailNotSent(t *testing.T) {
	msg := mail.Message{Subject: "Anna invites you", Text: "https://app.example.com/#join=t"}
	to := fmt.Sprintf("refused-%d@example.com", time.Now().UnixNano())

	_, err := sesmail.NewSender(testenv.SES(t), "", "").Send(context.Background(), to, msg)

	assertEmailNotSent(t, err, "Must have a from email address")
	if n := len(testenv.MailTo(t, to)); n != 0 {
		t.Fatalf("%d mails stored for a refused send", n)
	}
}
