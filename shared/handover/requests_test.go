package handover_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// The request decoders take whatever a caller sends: they either refuse it with a 4xx and a
// stable code, or hand the use case a target that is well-formed and text within the limits.

func FuzzForwardRequest(f *testing.F) {
	for _, seed := range []string{
		`{"to":{"kind":"agent","id":"grace"},"message":"please"}`,
		`{"to":{"kind":"team","id":"billing"}}`,
		`{"to":{"kind":"robot","id":"x"}}`,
		`{"to":{"kind":"agent","id":""}}`,
		`{"to":{"kind":"agent","id":"../../etc"}}`,
		`{"to":"grace"}`,
		`{"to":{"kind":"agent","id":"grace"},"message":"\u0000"}`,
		`{"to":{"kind":" agent ","id":" grace "},"message":"  hi  "}`,
		`{"to":{"kind":"agent","id":"grace","extra":1}}`,
		`[]`, ``, `{"to":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req handover.ForwardRequest
		if err := httpapi.Decode(body, &req); err != nil {
			checkRefusal(t, err)
			return
		}
		to, err := req.Normalize()
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkTarget(t, to, req.Message)
	})
}

func FuzzInviteAgentRequest(f *testing.F) {
	for _, seed := range []string{
		`{"agentId":"grace","message":"help"}`, `{"agentId":""}`, `{"agentId":"a b"}`, `{"agentId":1}`,
		`{"agentId":"grace","message":"` + strings.Repeat("x", invitation.MaxMessageLen+1) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req handover.InviteAgentRequest
		if err := httpapi.Decode(body, &req); err != nil {
			checkRefusal(t, err)
			return
		}
		to, err := req.Normalize()
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if to.Kind != invitation.TargetAgent {
			t.Fatalf("kind %q", to.Kind)
		}
		checkTarget(t, to, req.Message)
	})
}

func FuzzInviteTeamRequest(f *testing.F) {
	for _, seed := range []string{`{"teamId":"billing"}`, `{"teamId":"x","message":"\t\n"}`, `{"teamId":"\u202e"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req handover.InviteTeamRequest
		if err := httpapi.Decode(body, &req); err != nil {
			checkRefusal(t, err)
			return
		}
		to, err := req.Normalize()
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if to.Kind != invitation.TargetTeam {
			t.Fatalf("kind %q", to.Kind)
		}
		checkTarget(t, to, req.Message)
	})
}

func FuzzDeclineRequest(f *testing.F) {
	for _, seed := range []string{`{}`, `{"reason":"busy"}`, `{"reason":"\u0007"}`, `{"reason":5}`, `{"why":"x"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req handover.DeclineRequest
		if err := httpapi.Decode(body, &req); err != nil {
			checkRefusal(t, err)
			return
		}
		if err := req.Normalize(); err != nil {
			checkRefusal(t, err)
			return
		}
		if !utf8.ValidString(req.Reason) || utf8.RuneCountInString(req.Reason) > invitation.MaxDeclineReasonLen || req.Reason != strings.TrimSpace(req.Reason) {
			t.Fatalf("accepted reason %q", req.Reason)
		}
	})
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	e := apperror.As(err)
	if status := httpapi.Status(e.Kind); status < 400 || status >= 500 || e.Code == "" {
		t.Fatalf("refusal %v is %d %q", err, status, e.Code)
	}
}

func checkTarget(t *testing.T, to invitation.Target, message string) {
	t.Helper()
	if !directory.ValidID(to.ID) || (to.Kind != invitation.TargetAgent && to.Kind != invitation.TargetTeam) {
		t.Fatalf("accepted target %+v", to)
	}
	if !utf8.ValidString(message) || utf8.RuneCountInString(message) > invitation.MaxMessageLen || message != strings.TrimSpace(message) {
		t.Fatalf("accepted message %q", message)
	}
	for _, r := range message {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			t.Fatalf("accepted control character in %q", message)
		}
	}
}
