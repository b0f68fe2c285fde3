package invitations_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/mail"
)

// decodeErrorIsInvalid fails the test unless err is a 400 with a code: whatever a caller
// sends, the answer is never a crash or a 500.
func decodeErrorIsInvalid(t *testing.T, body []byte, err error) {
	t.Helper()
	if e := apperror.As(err); e.Kind != apperror.KindInvalid || e.Code == "" {
		t.Fatalf("body %q: %v (kind %v), want a 400 with a code", body, err, e.Kind)
	}
}

func checkDisplayName(t *testing.T, name string) {
	t.Helper()
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > conversation.MaxDisplayNameLen || name != strings.TrimSpace(name) {
		t.Fatalf("accepted display name %q", name)
	}
}

func FuzzRedeemPinRequest(f *testing.F) {
	for _, seed := range []string{
		`{"pin":"123456789"}`, `{"pin":"123 456 789","displayName":"Carl"}`, `{"pin":123456789}`,
		`{"pin":"1","admin":true}`, `{"pin":"１２３４５６７８９"}`, `{"pin":"\u0000"}`, `{"displayName":"` + strings.Repeat("x", 81) + `"}`,
		``, `[]`, `{"pin":"12345678-9"}`, `{"pin":"123456789"}{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req invitations.RedeemPINRequest
		err := httpapi.Decode(body, &req)
		if err == nil {
			err = req.Normalize()
		}
		if err != nil {
			decodeErrorIsInvalid(t, body, err)
			return
		}
		checkDisplayName(t, req.DisplayName)
		if pin, ok := invitation.NormalizePIN(req.PIN, invitation.DefaultPINLength); ok {
			if len(pin) != invitation.DefaultPINLength || strings.Trim(pin, "0123456789") != "" {
				t.Fatalf("PIN %q normalised to %q", req.PIN, pin)
			}
		}
	})
}

func FuzzRedeemJoinTokenRequest(f *testing.F) {
	for _, seed := range []string{
		`{"token":"` + strings.Repeat("A", 43) + `"}`, `{"token":" ` + strings.Repeat("-", 43) + ` ","displayName":"Dana"}`,
		`{"token":null}`, `{"token":"a b"}`, `{"token":"x","displayName":"\u202eevil"}`, `{}`, `"token"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req invitations.RedeemJoinTokenRequest
		err := httpapi.Decode(body, &req)
		if err == nil {
			err = req.Normalize()
		}
		if err != nil {
			decodeErrorIsInvalid(t, body, err)
			return
		}
		checkDisplayName(t, req.DisplayName)
		if invitation.LooksLikeJoinToken(req.Token) && len(req.Token) != 43 {
			t.Fatalf("token %q passes the shape check", req.Token)
		}
	})
}

func FuzzEmailInvitationRequest(f *testing.F) {
	for _, seed := range []string{
		`{"email":"carl@example.com"}`, `{"email":"Carl <carl@example.com>","name":"Carl","note":"line 1\nline 2"}`,
		`{"email":"a@example.com\r\nBcc: b@example.com"}`, `{"email":"a@example.com, b@example.com"}`,
		`{"email":"carl@example.com","note":"` + strings.Repeat("n", 1001) + `"}`, `{"email":"carl@example.com","name":"\u0007"}`,
		`{"email":["carl@example.com"]}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req invitations.EmailRequest
		err := httpapi.Decode(body, &req)
		if err == nil {
			err = req.Normalize()
		}
		if err != nil {
			decodeErrorIsInvalid(t, body, err)
			return
		}
		if again, err := mail.ParseAddress(req.Email); err != nil || again != req.Email || strings.ContainsAny(req.Email, "\r\n,;") {
			t.Fatalf("accepted address %q (re-parses to %q, %v)", req.Email, again, err)
		}
		if utf8.RuneCountInString(req.Name) > invitation.MaxNameLen || utf8.RuneCountInString(req.Note) > invitation.MaxNoteLen {
			t.Fatalf("accepted name %d or note %d runes", utf8.RuneCountInString(req.Name), utf8.RuneCountInString(req.Note))
		}
	})
}
