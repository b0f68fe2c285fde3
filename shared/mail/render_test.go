package mail_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/mail"
)

var sentAt = time.Date(2030, 3, 4, 9, 30, 0, 0, time.UTC)

func invitation() mail.Invitation {
	return mail.Invitation{
		InviterName:  "Anna Agent",
		CustomerName: "Carl Customer",
		Topic:        "Your mortgage application",
		Note:         "Hi Carl,\nplease join so we can finish this together.",
		Link:         "https://app.example.com/mortgage?step=3#join=tok123",
		ExpiresAt:    sentAt.Add(24 * time.Hour),
		CompanyName:  "Example Bank",
		SentAt:       sentAt,
	}
}

func render(t *testing.T, inv mail.Invitation) mail.Message {
	t.Helper()
	msg, err := mail.Render(inv)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return msg
}

func TestRender_SaysWhoInvitesToWhatAndUntilWhen(t *testing.T) {
	msg := render(t, invitation())

	wantSubject := "Anna Agent (Example Bank) invites you to join a conversation about Your mortgage application"
	if msg.Subject != wantSubject {
		t.Errorf("subject = %q, want %q", msg.Subject, wantSubject)
	}
	for name, body := range map[string]string{"HTML": msg.HTML, "text": msg.Text} {
		for _, want := range []string{
			"Carl Customer",
			"Anna Agent",
			"Example Bank",
			"Your mortgage application",
			"until Tue Mar 5, 2030 09:30 UTC",
			"valid for 24 hours",
			"app.example.com",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s body lacks %q:\n%s", name, want, body)
			}
		}
	}
}

func TestRender_BothBodiesCarryTheLink(t *testing.T) {
	inv := invitation()
	msg := render(t, inv)
	if !strings.Contains(msg.Text, inv.Link) {
		t.Errorf("text body lacks the link %q", inv.Link)
	}
	if !strings.Contains(msg.HTML, `href="`+inv.Link+`"`) {
		t.Errorf("HTML body lacks href=%q:\n%s", inv.Link, msg.HTML)
	}
}

func TestRender_EscapesTheNoteAndNamesInHTML(t *testing.T) {
	inv := invitation()
	inv.Note = `<script>alert("x")</script>` + "\nsecond <b>line</b>"
	inv.InviterName = `Anna <img src=x onerror=alert(1)>`
	inv.Topic = `"><a href="https://evil.example">click</a>`
	msg := render(t, inv)

	for _, raw := range []string{"<script>", "<img", `<a href="https://evil.example"`, "<b>"} {
		if strings.Contains(msg.HTML, raw) {
			t.Errorf("HTML body contains unescaped %q", raw)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;", "&lt;img", "second &lt;b&gt;line&lt;/b&gt;"} {
		if !strings.Contains(msg.HTML, escaped) {
			t.Errorf("HTML body lacks escaped %q:\n%s", escaped, msg.HTML)
		}
	}
	if !strings.Contains(msg.HTML, "<br>second") {
		t.Errorf("HTML body should keep the note's line break:\n%s", msg.HTML)
	}
}

func TestRender_TextBodyHasNoHTML(t *testing.T) {
	msg := render(t, invitation())
	if tag := regexp.MustCompile(`<[a-zA-Z/!]`).FindString(msg.Text); tag != "" {
		t.Fatalf("text body contains markup %q:\n%s", tag, msg.Text)
	}
	if strings.Contains(msg.Text, "&lt;") || strings.Contains(msg.Text, "&amp;") {
		t.Fatalf("text body contains HTML entities:\n%s", msg.Text)
	}
}

func TestRender_TextBodyStripsControlCharacters(t *testing.T) {
	inv := invitation()
	inv.Note = "line one\x1b[31m red\x07\r\nline two\u202e"
	msg := render(t, inv)
	for _, c := range []string{"\x1b", "\x07", "\r", "\u202e"} {
		if strings.Contains(msg.Text, c) {
			t.Errorf("text body contains control character %q", c)
		}
	}
	if !strings.Contains(msg.Text, "line one [31m red") || !strings.Contains(msg.Text, "line two") {
		t.Errorf("text body lost the note:\n%s", msg.Text)
	}
}

func TestRender_SubjectCannotBeInjected(t *testing.T) {
	inv := invitation()
	inv.InviterName = "Anna\r\nBcc: victim@example.org"
	inv.Topic = "Help\nContent-Type: text/html\r\n\r\n<h1>spoof</h1>"
	inv.CompanyName = "Bank\u2028X\u0085Y"
	msg := render(t, inv)
	if strings.ContainsAny(msg.Subject, "\r\n\u2028\u0085") {
		t.Fatalf("subject contains a line break: %q", msg.Subject)
	}
	if !strings.HasPrefix(msg.Subject, "Anna Bcc: victim@example.org (Bank X Y) invites you") {
		t.Fatalf("subject = %q", msg.Subject)
	}
}

func TestRender_FallbacksWithoutTopicCustomerOrNote(t *testing.T) {
	inv := invitation()
	inv.Topic, inv.CustomerName, inv.Note, inv.CompanyName = "  ", "", "", ""
	msg := render(t, inv)
	if msg.Subject != "Anna Agent invites you to join your conversation" {
		t.Errorf("subject = %q", msg.Subject)
	}
	if !strings.Contains(msg.Text, "Hello,\n") || strings.Contains(msg.Text, "wrote:") {
		t.Errorf("text body:\n%s", msg.Text)
	}
	if strings.Contains(msg.HTML, "wrote:") {
		t.Errorf("HTML body shows an empty note:\n%s", msg.HTML)
	}
}

func TestRender_LongSubjectPartsAreCut(t *testing.T) {
	inv := invitation()
	inv.Topic = strings.Repeat("very long topic ", 40)
	msg := render(t, inv)
	if n := len([]rune(msg.Subject)); n > 200 {
		t.Fatalf("subject has %d characters: %q", n, msg.Subject)
	}
	if !strings.HasSuffix(msg.Subject, "…") {
		t.Fatalf("cut subject should end with an ellipsis: %q", msg.Subject)
	}
}

func TestRender_ValidForIsRoundedAndShortOnesInMinutes(t *testing.T) {
	tests := []struct {
		left time.Duration
		want string
	}{
		{24*time.Hour - 3*time.Second, "valid for 24 hours"},
		{72 * time.Hour, "valid for 72 hours"},
		{time.Hour, "valid for 1 hour"},
		{45 * time.Minute, "valid for 45 minutes"},
		{10 * time.Second, "valid for 1 minute"},
	}
	for _, tt := range tests {
		inv := invitation()
		inv.ExpiresAt = sentAt.Add(tt.left)
		if msg := render(t, inv); !strings.Contains(msg.Text, tt.want) {
			t.Errorf("%v left: text body lacks %q", tt.left, tt.want)
		}
	}
}

func TestRender_RefusesBrokenInvitations(t *testing.T) {
	expired := invitation()
	expired.ExpiresAt = sentAt.Add(-time.Minute)
	noLink := invitation()
	noLink.Link = ""
	scriptLink := invitation()
	scriptLink.Link = "javascript:alert(1)"
	for name, inv := range map[string]mail.Invitation{"expired": expired, "no link": noLink, "javascript link": scriptLink} {
		if _, err := mail.Render(inv); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
