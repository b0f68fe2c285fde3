package sesmail_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
)

// sesAt returns a client for endpoint that gives up after one attempt, so failure tests do
// not sit through the SDK's retry backoff.
func sesAt(endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(awsconfig.Static("us-east-1"), func(o *sesv2.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}

func message() mail.Message {
	return mail.Message{Subject: "Anna invites you", HTML: "<p>Join: https://app.example.com/#join=t</p>", Text: "Join: https://app.example.com/#join=t"}
}

func TestSend_WhenSESFails_CallerGetsEmailNotSent(t *testing.T) {
	const secret = "Email address is not verified. The following identities failed the check in region US-EAST-1: ops@internal.example"
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"server error", http.StatusInternalServerError, `{"message":"` + secret + `"}`},
		{"typed refusal", http.StatusBadRequest, `{"__type":"MessageRejected","message":"` + secret + `"}`},
		{"untyped emulator error", http.StatusBadRequest, `{"message":"Bad Request Exception","detail":"` + secret + `"}`},
		{"throttled", http.StatusTooManyRequests, `{"__type":"TooManyRequestsException","message":"` + secret + `"}`},
		{"not JSON", http.StatusBadGateway, "<html>" + secret + "</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()

			_, err := sesmail.NewSender(sesAt(srv.URL), "invites@example.com", "").Send(context.Background(), "jane@example.com", message())
			assertEmailNotSent(t, err, secret)
		})
	}
}

func TestSend_WhenSESIsUnreachable_CallerGetsEmailNotSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more

	_, err = sesmail.NewSender(sesAt("http://"+addr), "invites@example.com", "").Send(context.Background(), "jane@example.com", message())
	assertEmailNotSent(t, err, addr)
}

func TestSend_BuildsASimpleUTF8EmailToOneRecipient(t *testing.T) {
	for _, configSet := range []string{"", "invitations"} {
		t.Run("configuration set "+configSet, func(t *testing.T) {
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
					t.Errorf("request body: %v", err)
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"MessageId":"msg-1"}`)
			}))
			defer srv.Close()

			id, err := sesmail.NewSender(sesAt(srv.URL), "Example Bank <invites@example.com>", configSet).
				Send(context.Background(), "Jane <Jane@Example.COM>", message())
			if err != nil {
				t.Fatal(err)
			}
			if id != "msg-1" {
				t.Errorf("message id = %q", id)
			}
			assertJSON(t, got, "FromEmailAddress", "Example Bank <invites@example.com>")
			assertJSON(t, got, "Destination.ToAddresses.0", "Jane@example.com")
			assertJSON(t, got, "Content.Simple.Subject.Data", "Anna invites you")
			assertJSON(t, got, "Content.Simple.Subject.Charset", "UTF-8")
			assertJSON(t, got, "Content.Simple.Body.Html.Charset", "UTF-8")
			assertJSON(t, got, "Content.Simple.Body.Text.Charset", "UTF-8")
			assertJSON(t, got, "Content.Simple.Body.Text.Data", message().Text)
			if _, has := got["ConfigurationSetName"]; has != (configSet != "") {
				t.Errorf("ConfigurationSetName present = %v with configuration set %q", has, configSet)
			}
		})
	}
}

func TestSend_RefusesAnInvalidRecipientWithoutCallingSES(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls.Add(1) }))
	defer srv.Close()

	_, err := sesmail.NewSender(sesAt(srv.URL), "invites@example.com", "").
		Send(context.Background(), "jane@example.com\r\nBcc: all@example.com", message())
	if !apperror.Is(err, "invalid_email") {
		t.Fatalf("err = %v, want invalid_email", err)
	}
	if calls.Load() != 0 {
		t.Fatal("SES was called for an invalid recipient")
	}
}

func TestSend_SubjectLineBreaksNeverReachSES(t *testing.T) {
	var subject string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Content struct {
				Simple struct{ Subject struct{ Data string } }
			}
		}
		json.NewDecoder(r.Body).Decode(&in)
		subject = in.Content.Simple.Subject.Data
		io.WriteString(w, `{"MessageId":"m"}`)
	}))
	defer srv.Close()

	msg := message()
	msg.Subject = "Hello\r\nBcc: all@example.com"
	if _, err := sesmail.NewSender(sesAt(srv.URL), "invites@example.com", "").Send(context.Background(), "jane@example.com", msg); err != nil {
		t.Fatal(err)
	}
	if subject != "Hello Bcc: all@example.com" {
		t.Fatalf("subject sent = %q", subject)
	}
}

func assertEmailNotSent(t *testing.T, err error, secret string) {
	t.Helper()
	if !apperror.Is(err, "email_not_sent") {
		t.Fatalf("err = %v, want email_not_sent", err)
	}
	e := apperror.As(err)
	if e.Kind != apperror.KindUnavailable {
		t.Errorf("kind = %v, want KindUnavailable", e.Kind)
	}
	if e.Cause == nil || errors.Unwrap(err) == nil {
		t.Error("the SES cause must be kept for the logs")
	}
	if strings.Contains(e.Message, secret) || strings.Contains(e.Code, secret) {
		t.Errorf("caller-facing message echoes SES: %q", e.Message)
	}
}

// assertJSON follows a dotted path (numbers index arrays) through a decoded JSON object.
func assertJSON(t *testing.T, doc map[string]any, path string, want string) {
	t.Helper()
	var cur any = doc
	for _, key := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[key]
		case []any:
			if key != "0" || len(v) == 0 {
				t.Fatalf("%s: unexpected array access %q", path, key)
			}
			cur = v[0]
		default:
			t.Fatalf("%s: no %q in %v", path, key, cur)
		}
	}
	if cur != want {
		t.Errorf("%s = %v, want %q", path, cur, want)
	}
}

// TestSend_AHangingSESGivesUpWithinItsOwnTimeout: SES that never answers costs SendTimeout,
// not the function's whole life, and the caller gets email_not_sent with time to record it.
func TestSend_AHangingSESGivesUpWithinItsOwnTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	// The function's own deadline is far away; only the sender's timeout can end the call.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := sesmail.NewSender(sesAt(hang.URL), "invites@example.com", "").Send(ctx, "carl@example.com", message())
	if !apperror.Is(err, "email_not_sent") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want email_not_sent caused by the sender's deadline", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the call ran until the function's deadline")
	}
}
