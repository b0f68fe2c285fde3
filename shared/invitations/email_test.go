package invitations_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

var hrefPattern = regexp.MustCompile(`href="([^"]*)"`)

func TestEmailInvitation_MailHasBothBodiesTheEscapedNoteAndALinkToTheConversationsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Billing question", appOrigin+"/help/billing?lang=en")
	to := address(t)
	sent := e.createEmail("anna", conv, invitations.EmailRequest{
		Email: "Carl <" + to + ">", Name: "Carl", Note: `<script>alert("x")</script>` + "\nSee you there.",
	})
	if sent.Status != invitation.StatusPending || time.Until(sent.ExpiresAt) < 23*time.Hour {
		t.Fatalf("sent = %+v", sent)
	}

	m := onlyMailTo(t, to, 1)[0]
	if !strings.Contains(m.From, "invites@example.com") {
		t.Errorf("from = %q", m.From)
	}
	if !strings.Contains(m.Subject, "Anna Agent") || !strings.Contains(m.Subject, "Billing question") {
		t.Errorf("subject does not say who invites to what: %q", m.Subject)
	}
	if m.HTML == "" || m.Text == "" {
		t.Fatalf("want both bodies; HTML %d bytes, text %d bytes", len(m.HTML), len(m.Text))
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Error("the note is not escaped in the HTML body")
	}
	if !strings.Contains(m.Text, "valid for 24 hours") {
		t.Errorf("the text body does not say until when the link works:\n%s", m.Text)
	}
	link := linkIn(t, m)
	if !strings.HasPrefix(link, appOrigin+"/help/billing?lang=en#join=") {
		t.Fatalf("link %q does not go to the conversation's page", link)
	}
	hrefs := hrefPattern.FindAllStringSubmatch(m.HTML, -1)
	if len(hrefs) == 0 {
		t.Fatal("the HTML body has no link")
	}
	for _, h := range hrefs {
		u, err := url.Parse(strings.ReplaceAll(h[1], "&amp;", "&"))
		if err != nil || u.Scheme+"://"+u.Host != appOrigin {
			t.Errorf("HTML link %q leaves the allowed origin", h[1])
		}
	}

	// The link's token joins, with the name the agent gave.
	j, err := redeemToken(t, e.svc, tokenOf(t, link), ip(1))
	e.mustJoin(j, err, conv)
	part, err := e.st.Participant(t.Context(), conv, j.ParticipantID)
	if err != nil || part.DisplayName != "Carl" {
		t.Fatalf("participant %+v, %v", part, err)
	}
	// Single use.
	_, err = redeemToken(t, e.svc, tokenOf(t, link), ip(1))
	wantCode(t, err, "join_token_invalid")
}

func TestEmailInvitation_ForeignPageURLFallsBackToTheDefaultJoinPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, page := range []string{"https://evil.example.net/phish", "https://app.example.com.evil.example.net/", ""} {
		conv := e.startConversation("anna", "Elsewhere", page)
		to := address(t)
		e.createEmail("anna", conv, invitations.EmailRequest{Email: to})
		link := linkIn(t, onlyMailTo(t, to, 1)[0])
		if !strings.HasPrefix(link, joinPage+"#join=") {
			t.Errorf("pageUrl %q: link %q, want the default join page", page, link)
		}
		if strings.Contains(onlyMailTo(t, to, 1)[0].HTML, "evil") {
			t.Errorf("pageUrl %q: the foreign origin appears in the mail", page)
		}
	}
}

func TestEmailInvitation_AddressValidatedNoHeaderInjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Injection", "")
	for _, bad := range []string{"", "a@example.com, b@example.com", "a@example.com\r\nBcc: all@example.com", "not an address"} {
		_, err := e.svc.CreateEmail(t.Context(), agent("anna"), conv, invitations.EmailRequest{Email: bad})
		wantCode(t, err, "invalid_email")
	}
	if n := e.mailer.sends.Load(); n != 0 {
		t.Fatalf("%d sends for invalid addresses", n)
	}
}

func TestEmailInvitation_WhenSESFails_RecordedFailedEmailNotSentAndResendWorks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Outage", appOrigin+"/account")
	to := address(t)

	e.mailer.failing.Store(true)
	_, err := e.svc.CreateEmail(t.Context(), agent("anna"), conv, invitations.EmailRequest{Email: to})
	ae := apperror.As(err)
	if ae.Code != "email_not_sent" || ae.Kind != apperror.KindUnavailable {
		t.Fatalf("err = %v, want 502 email_not_sent", err)
	}
	if strings.Contains(ae.Error(), to) {
		t.Errorf("the logged cause quotes the address: %v", ae)
	}
	list, err := e.svc.List(t.Context(), agent("anna"), conv)
	if err != nil {
		t.Fatal(err)
	}
	failed := list.Invitations[0]
	if failed.Status != invitation.StatusFailed || failed.Reason != "email_not_sent" {
		t.Fatalf("invitation after the failure: %+v", failed)
	}
	if len(e.committed(conv, conversation.EventInvitationFailed)) != 1 {
		t.Error("agents were not told that the email failed")
	}
	if n := len(testenv.MailTo(t, to)); n != 0 {
		t.Fatalf("%d mails arrived despite the failure", n)
	}

	e.mailer.failing.Store(false)
	resent, err := e.svc.Resend(t.Context(), agent("anna"), conv, failed.ID)
	if err != nil {
		t.Fatalf("resend: %v", err)
	}
	if resent.Status != invitation.StatusPending || resent.PIN != "" {
		t.Fatalf("resent = %+v", resent)
	}
	j, err := redeemToken(t, e.svc, tokenOf(t, linkIn(t, onlyMailTo(t, to, 1)[0])), ip(1))
	e.mustJoin(j, err, conv)
	stored, _ := e.st.Invitation(t.Context(), failed.ID)
	if stored.SendCount != 2 || stored.Status != invitation.StatusRedeemed {
		t.Fatalf("stored = %+v", stored)
	}
}

func TestEmailInvitation_ResendInvalidatesTheOldLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Again", appOrigin+"/x")
	to := address(t)
	sent := e.createEmail("anna", conv, invitations.EmailRequest{Email: to})
	if _, err := e.svc.Resend(t.Context(), agent("anna"), conv, sent.InvitationID); err != nil {
		t.Fatal(err)
	}
	mails := onlyMailTo(t, to, 2)
	oldToken, newToken := tokenOf(t, linkIn(t, mails[0])), tokenOf(t, linkIn(t, mails[1]))
	if oldToken == newToken {
		t.Fatal("the resend reused the token")
	}
	_, err := redeemToken(t, e.svc, oldToken, ip(1))
	wantCode(t, err, "join_token_invalid")
	j, err := redeemToken(t, e.svc, newToken, ip(1))
	e.mustJoin(j, err, conv)
}

func TestEmailInvitation_PerAgentSendingIsLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.EmailsPerAgent.Limit = 2 })
	conv := e.startConversation("anna", "Spam", "")
	to := address(t)
	first := e.createEmail("anna", conv, invitations.EmailRequest{Email: to})
	if _, err := e.svc.Resend(t.Context(), agent("anna"), conv, first.InvitationID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.CreateEmail(t.Context(), agent("anna"), conv, invitations.EmailRequest{Email: address(t)})
	wantRateLimited(t, err)
	if n := e.mailer.sends.Load(); n != 2 {
		t.Fatalf("%d sends, want 2", n)
	}
}

func TestJoinToken_ExpiredButStillStoredIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Old mail", "")
	to := address(t)
	e.createEmail("anna", conv, invitations.EmailRequest{Email: to})
	token := tokenOf(t, linkIn(t, onlyMailTo(t, to, 1)[0]))
	_, err := redeemToken(t, e.after(24*time.Hour+time.Second), token, ip(1))
	wantCode(t, err, "join_token_invalid")
	j, err := redeemToken(t, e.svc, token, ip(1))
	e.mustJoin(j, err, conv)
}

func TestJoinToken_FailuresPerIPAreLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.JoinTokenFailuresPerIP.Limit = 2 })
	for range 2 {
		_, err := redeemToken(t, e.svc, strings.Repeat("A", 43), "203.0.113.77")
		wantCode(t, err, "join_token_invalid")
	}
	_, err := redeemToken(t, e.svc, strings.Repeat("A", 43), "203.0.113.77")
	wantRateLimited(t, err)
}

// TestJoinToken_OnlyFailuresCount: a link that works gives its slot back (in the redemption's
// own write), so customers behind one address are limited by their failures only.
func TestJoinToken_OnlyFailuresCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.JoinTokenFailuresPerIP.Limit = 2 })
	conv := e.startConversation("anna", "Office links", "")
	const office = "203.0.113.80"
	_, err := redeemToken(t, e.svc, strings.Repeat("B", 43), office)
	wantCode(t, err, "join_token_invalid")
	for range 3 {
		to := address(t)
		e.createEmail("anna", conv, invitations.EmailRequest{Email: to})
		j, err := redeemToken(t, e.svc, tokenOf(t, linkIn(t, onlyMailTo(t, to, 1)[0])), office)
		e.mustJoin(j, err, conv)
	}
	_, err = redeemToken(t, e.svc, strings.Repeat("C", 43), office)
	wantCode(t, err, "join_token_invalid") // the second failure, not the fifth attempt
	_, err = redeemToken(t, e.svc, strings.Repeat("D", 43), office)
	wantRateLimited(t, err)
}
