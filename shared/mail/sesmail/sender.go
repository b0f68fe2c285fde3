// Package sesmail sends invitation emails (rendered by package mail) through SES v2. It is
// apart from package mail so that only the functions that send mail import SES: everything
// that merely checks an address or a join link imports mail.
package sesmail

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/mail"
)

const charset = "UTF-8"

// SendTimeout bounds one SES call, retries included: well inside a function's 10 s, so that a
// slow or unreachable SES leaves time to record the invitation as failed (resendable) and to
// answer 502 email_not_sent, instead of the function being stopped with the invitation
// still pending.
const SendTimeout = 3 * time.Second

// Sender sends rendered invitation emails through SES v2. It never logs: the body holds the
// join link and with it the token.
type Sender struct {
	client           *sesv2.Client
	from             string
	configurationSet string
}

// NewSender returns a Sender that sends from the given verified identity ("Name <addr>" is
// fine) and, when configurationSet is not empty, through that SES configuration set (for
// bounce and complaint events).
func NewSender(client *sesv2.Client, from string, configurationSet string) *Sender {
	return &Sender{client: client, from: from, configurationSet: configurationSet}
}

// Send delivers msg to one recipient and returns SES's message id. Every SES failure becomes
// email_not_sent with the cause kept for the logs only: SES's own messages name identities,
// regions and account state, none of which a caller should see.
func (s *Sender) Send(ctx context.Context, to string, msg mail.Message) (messageID string, err error) {
	// The address is checked again here so that nothing but one plain address ever reaches
	// the To header, whoever called us.
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return "", err
	}
	msg.Subject = mail.SingleLine(msg.Subject)
	if msg.Subject == "" || (msg.HTML == "" && msg.Text == "") {
		return "", apperror.Internal(errors.New("mail: message without subject or body"))
	}
	ctx, cancel := context.WithTimeout(ctx, SendTimeout)
	defer cancel()
	out, err := s.client.SendEmail(ctx, s.input(addr, msg))
	if err != nil {
		return "", emailNotSent(err)
	}
	return aws.ToString(out.MessageId), nil
}

func (s *Sender) input(to string, msg mail.Message) *sesv2.SendEmailInput {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: content(msg.Subject),
			Body:    &types.Body{Html: content(msg.HTML), Text: content(msg.Text)},
		}},
	}
	if s.configurationSet != "" {
		in.ConfigurationSetName = aws.String(s.configurationSet)
	}
	return in
}

// content wraps a part in SES's Content; an empty part is left out rather than sent empty.
func content(data string) *types.Content {
	if data == "" {
		return nil
	}
	return &types.Content{Data: aws.String(data), Charset: aws.String(charset)}
}

// emailNotSent is the one answer callers get when SES refused or could not be reached,
// whatever the error looks like (typed SES errors, HTTP failures, or the local emulator's
// untyped ones).
func emailNotSent(cause error) error {
	return apperror.New(apperror.KindUnavailable, "email_not_sent", "the invitation email could not be sent").WithCause(cause)
}
