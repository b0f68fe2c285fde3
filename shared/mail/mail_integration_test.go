package mail_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestInvitationEmail_ArrivesAsRendered sends a rendered invitation through the local SES
// emulator and reads it back from the emulator's store, as a customer's mailbox would see it.
func TestInvitationEmail_ArrivesAsRendered(t *testing.T) {
	allowed := []string{"https://app.example.com"}
	token := randomHex(t, 32)
	link, err := mail.JoinLink("https://app.example.com/help/billing?lang=en", allowed, "https://app.example.com/join", token)
	if err != nil {
		t.Fatal(err)
	}
	inv := mail.Invitation{
		InviterName:  "Anna Agent",
		CustomerName: "Carl",
		Topic:        "Billing question",
		Note:         `<script>alert("hi")</script>` + "\nSee you there.",
		Link:         link,
		ExpiresAt:    time.Now().Add(24 * time.Hour),
		CompanyName:  "Example Bank",
	}
	msg, err := mail.Render(inv)
	if err != nil {
		t.Fatal(err)
	}
	to := "customer-" + randomHex(t, 8) + "@example.com"

	id, err := sesmail.NewSender(testenv.SES(t), "Example Bank <invites@example.com>", "").Send(context.Background(), to, msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id == "" {
		t.Error("SES returned no message id")
	}

	got := testenv.MailTo(t, to)
	if len(got) != 1 {
		t.Fatalf("mails to %s: %d, want 1", to, len(got))
	}
	m := got[0]
	if m.Subject != "Anna Agent (Example Bank) invites you to join a conversation about Billing question" {
		t.Errorf("subject = %q", m.Subject)
	}
	if m.HTML != msg.HTML || m.Text != msg.Text {
		t.Error("the bodies that arrived differ from the rendered ones")
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Error("the note is not escaped in the HTML body that arrived")
	}
	if !strings.Contains(m.Text, link) {
		t.Errorf("text body lacks the link %q", link)
	}
	for _, href := range hrefs(m.HTML) {
		assertOnAllowList(t, href, allowed)
		assertFragmentToken(t, href, token)
	}
	if len(hrefs(m.HTML)) == 0 {
		t.Error("HTML body has no link")
	}
}

var hrefPattern = regexp.MustCompile(`href="([^"]*)"`)

func hrefs(html string) []string {
	var out []string
	for _, m := range hrefPattern.FindAllStringSubmatch(html, -1) {
		out = append(out, m[1])
	}
	return out
}

func assertFragmentToken(t *testing.T, link, token string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	frag, err := url.ParseQuery(u.EscapedFragment())
	if err != nil || frag.Get("join") != token {
		t.Errorf("link %q does not carry the token in its fragment", link)
	}
	if strings.Contains(u.RawQuery, token) {
		t.Errorf("link %q sends the token to the server in its query", link)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
