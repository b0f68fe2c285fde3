package mail

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// Invitation is what an invitation email says. Every text field may come from a person
// (the agent's name and note, the visitor's topic), so Render treats them all as untrusted.
type Invitation struct {
	InviterName  string    // the inviting agent's display name
	CustomerName string    // optional: the name the agent entered for the customer
	Topic        string    // what the conversation is about; optional
	Note         string    // optional note from the agent; may span lines
	Link         string    // from JoinLink
	ExpiresAt    time.Time // when the join token stops working
	CompanyName  string    // the deployment's company, from config; optional
	SentAt       time.Time // when the email is sent, for "valid for N hours"; zero means now
}

// Message is a rendered email, ready for a Sender.
type Message struct {
	Subject string
	HTML    string
	Text    string
}

// Lengths beyond which a name or topic is cut in the subject line; mail clients show about
// 60–80 characters of a subject anyway, and a long visitor-chosen topic should not crowd out
// who is inviting.
const (
	maxSubjectNameLen  = 60
	maxSubjectTopicLen = 80
	untilLayout        = "Mon Jan 2, 2006 15:04 MST"
	fallbackInviter    = "Someone"
)

// view is the data both bodies show: single-line fields without control characters, the
// note split into lines, and the expiry already spelled out.
type view struct {
	Subject      string
	InviterName  string
	CustomerName string
	CompanyName  string
	Topic        string
	HasTopic     bool
	NoteLines    []string
	Link         string
	LinkHost     string
	Until        string
	ValidFor     string
}

// Render builds the subject and both bodies of an invitation email. The subject and body say
// who invites, to what, and until when the link works (§5 "Email invitations").
func Render(inv Invitation) (Message, error) {
	v, err := newView(inv)
	if err != nil {
		return Message{}, err
	}
	return Message{Subject: v.Subject, HTML: htmlBody(v), Text: textBody(v)}, nil
}

func newView(inv Invitation) (view, error) {
	link, err := url.Parse(inv.Link)
	if err != nil || (link.Scheme != "https" && link.Scheme != "http") || link.Host == "" {
		return view{}, apperror.Internal(errors.New("mail: invitation needs an absolute http(s) link"))
	}
	sentAt := inv.SentAt
	if sentAt.IsZero() {
		sentAt = time.Now()
	}
	if !inv.ExpiresAt.After(sentAt) {
		return view{}, apperror.Internal(errors.New("mail: invitation expires before it is sent"))
	}
	v := view{
		InviterName:  SingleLine(inv.InviterName),
		CustomerName: SingleLine(inv.CustomerName),
		CompanyName:  SingleLine(inv.CompanyName),
		Topic:        SingleLine(inv.Topic),
		NoteLines:    noteLines(inv.Note),
		Link:         inv.Link,
		LinkHost:     link.Hostname(),
		Until:        inv.ExpiresAt.UTC().Format(untilLayout),
		ValidFor:     validFor(inv.ExpiresAt.Sub(sentAt)),
	}
	if v.InviterName == "" {
		v.InviterName = fallbackInviter
	}
	v.HasTopic = v.Topic != ""
	if !v.HasTopic {
		v.Topic = "your conversation"
	}
	v.Subject = subject(v)
	return v, nil
}

// subject says who invites and to what, from already single-line values, so it can never
// carry a CR or LF into the Subject header.
func subject(v view) string {
	who := truncate(v.InviterName, maxSubjectNameLen)
	if v.CompanyName != "" {
		who += " (" + truncate(v.CompanyName, maxSubjectNameLen) + ")"
	}
	if !v.HasTopic {
		return who + " invites you to join your conversation"
	}
	return who + " invites you to join a conversation about " + truncate(v.Topic, maxSubjectTopicLen)
}

// validFor spells out how long the link works, in hours, or in minutes when a resend comes
// close to expiry and "0 hours" would be wrong.
func validFor(d time.Duration) string {
	if d >= time.Hour {
		return plural(int(math.Round(d.Hours())), "hour")
	}
	return plural(max(1, int(math.Round(d.Minutes()))), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "valid for 1 " + unit
	}
	return fmt.Sprintf("valid for %d %ss", n, unit)
}

// SingleLine makes s safe for one line of a header or body: invalid UTF-8 replaced, every
// control, line-separator and bidirectional-override character turned into a space (the
// latter can make a name read backwards), runs of spaces collapsed.
func SingleLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if breaksLine(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// noteLines keeps the agent's line breaks and cleans each line like SingleLine; blank lines
// at either end are dropped.
func noteLines(note string) []string {
	note = strings.ReplaceAll(note, "\r\n", "\n")
	lines := strings.Split(strings.TrimSpace(note), "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, SingleLine(l))
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

func breaksLine(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r):
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func truncate(s string, limit int) string {
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return strings.TrimSpace(string(r[:limit-1])) + "…"
}
