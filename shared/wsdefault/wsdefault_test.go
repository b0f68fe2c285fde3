package wsdefault

import (
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// A ping is a JSON object whose action is "ping", within 4 KiB; everything else is an
// unknown action.
func TestAnswer_APingGetsPongAnythingElseUnknownAction(t *testing.T) {
	for body, want := range map[string]string{
		`{"action":"ping"}`:                 "pong",
		`{"action":"ping","extra":[1,2,3]}`: "pong",
		` {"action" : "ping"} `:             "pong",
		`{"action":"PING"}`:                 errUnknownAction,
		`{"action":"pong"}`:                 errUnknownAction,
		`{"action":["ping"]}`:               errUnknownAction,
		`{}`:                                errUnknownAction,
		`null`:                              errUnknownAction,
		``:                                  errUnknownAction,
		`ping`:                              errUnknownAction,
		`{"action":"ping"` + strings.Repeat(" ", maxInboundMessage) + `}`: errUnknownAction,
	} {
		reply, outcome := answer(body)
		wantType := map[string]string{"pong": wsapi.TypePong, errUnknownAction: wsapi.TypeError}[want]
		if outcome != want || reply.Type != wantType {
			t.Errorf("%.40q: %q, %+v; want %q, type %q", body, outcome, reply, want, wantType)
		}
		if want == errUnknownAction && reply.Data["code"] != errUnknownAction {
			t.Errorf("%.40q: the error carries %v", body, reply.Data)
		}
	}
}

// FuzzAnswer: whatever a client sends, the answer is one of the two, its outcome (what is
// logged) is one of two fixed words and never the body, and a pong needs a ping in it.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{`{"action":"ping"}`, `{"action":"pong"}`, `{}`, ``, `[`, `{"action":"ping"` + strings.Repeat(" ", maxInboundMessage) + `}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		reply, outcome := answer(body)
		switch outcome {
		case "pong":
			if reply.Type != wsapi.TypePong || !strings.Contains(body, "ping") || len(body) > maxInboundMessage {
				t.Fatalf("%q got %+v", body, reply)
			}
		case errUnknownAction:
			if reply.Type != wsapi.TypeError || reply.Data["code"] != errUnknownAction {
				t.Fatalf("%q got %+v", body, reply)
			}
		default:
			t.Fatalf("%q logged as %q", body, outcome)
		}
	})
}
