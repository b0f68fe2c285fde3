package emulators

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Mail is one message the SES emulator accepted.
type Mail struct {
	MessageID   string
	From        string
	ReplyTo     []string
	To, Cc, Bcc []string
	Subject     string
	HTML, Text  string
	Headers     []Header
	At          time.Time // when the emulator accepted it, to the second
}

// Header is an extra message header given with the message.
type Header struct{ Name, Value string }

// SentTo reports whether address is among the message's To, Cc or Bcc recipients. Addresses
// compare case-insensitively and may carry a display name ("Carl <carl@example.com>").
func (m Mail) SentTo(address string) bool {
	want := bareAddress(address)
	return slices.ContainsFunc(slices.Concat(m.To, m.Cc, m.Bcc), func(r string) bool {
		return bareAddress(r) == want
	})
}

func bareAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// storedMail is a message as the emulator's GET /store returns it
// (aws-ses-v2-local dist/v2/sendEmail.js, saveEmail).
type storedMail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
	At int64 `json:"at"` // Unix seconds
}

func (s storedMail) mail() Mail {
	m := Mail{
		MessageID: s.MessageID,
		From:      s.From,
		ReplyTo:   s.ReplyTo,
		To:        s.Destination.To,
		Cc:        s.Destination.Cc,
		Bcc:       s.Destination.Bcc,
		Subject:   s.Subject,
		HTML:      s.Body.HTML,
		Text:      s.Body.Text,
		At:        time.Unix(s.At, 0),
	}
	for _, h := range s.Headers {
		m.Headers = append(m.Headers, Header{Name: h.Name, Value: h.Value})
	}
	return m
}

// SentMail returns every message the SES emulator at endpoint has accepted, oldest first.
func SentMail(ctx context.Context, endpoint string) ([]Mail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/store", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read sent mail: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read sent mail: GET %s/store: %s", endpoint, resp.Status)
	}
	var store struct{ Emails []storedMail }
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("read sent mail: %w", err)
	}
	out := make([]Mail, 0, len(store.Emails))
	for _, s := range store.Emails {
		out = append(out, s.mail())
	}
	return out, nil
}
