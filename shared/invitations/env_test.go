package invitations_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	appOrigin   = "https://app.example.com"
	joinPage    = appOrigin + "/join"
	mailFrom    = "Example Bank <invites@example.com>"
	companyName = "Example Bank"
)

// env is one deployment over a fresh table, sending mail through the SES emulator.
type env struct {
	t      *testing.T
	st     *store.Store
	convs  *conversations.Service
	svc    *invitations.Service
	mailer *switchMailer
}

func newEnv(t *testing.T, configure ...func(*invitations.Config)) *env {
	t.Helper()
	st := store.New(testenv.DynamoDB(t), testenv.NewTable(t))
	cfg := invitations.DefaultConfig()
	cfg.AllowedOrigins = []string{appOrigin, "http://localhost:3000"}
	cfg.DefaultJoinPage = joinPage
	cfg.CompanyName = companyName
	for _, c := range configure {
		c(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key, err := invitation.NewPINKey([]byte(randomHex(t, 32)))
	if err != nil {
		t.Fatal(err)
	}
	ses := testenv.SES(t)
	mailer := &switchMailer{working: sesmail.NewSender(ses, mailFrom, ""), broken: sesmail.NewSender(ses, "", "")}
	return &env{
		t: t, st: st, mailer: mailer,
		convs: &conversations.Service{Store: st, SessionTTL: 12 * time.Hour},
		svc: &invitations.Service{
			Store: st, Limiter: &ratelimit.Limiter{Counters: st, Shard: roundRobin()},
			Config: cfg, PINKey: &key, Mailer: mailer,
		},
	}
}

// after returns the deployment as it will be d from now: service and store clocks moved.
func (e *env) after(d time.Duration) *invitations.Service {
	later := func() time.Time { return time.Now().Add(d) }
	svc := *e.svc
	svc.Now = later
	svc.Store = e.st.WithClock(later)
	svc.Limiter = &ratelimit.Limiter{Counters: e.st, Now: later, Shard: roundRobin()}
	return &svc
}

func agent(id string) auth.Principal { return auth.Principal{Kind: auth.Agent, AgentID: id} }

var anonymous = auth.Principal{Kind: auth.Anonymous}

// visitor is the principal a joined customer's session token resolves to.
func visitor(j invitations.Joined) auth.Principal {
	return auth.Principal{Kind: auth.Visitor, ConversationID: j.ConversationID, ParticipantID: j.ParticipantID, SessionHash: ids.Hash(j.SessionToken)}
}

// startConversation has the agent start a conversation about topic on pageURL.
func (e *env) startConversation(agentID, topic, pageURL string) string {
	e.t.Helper()
	s, err := e.convs.Start(e.t.Context(), agent(agentID), "192.0.2.1", conversation.StartRequest{Topic: topic, PageURL: pageURL, DisplayName: "Anna Agent"})
	if err != nil {
		e.t.Fatal(err)
	}
	return s.ConversationID
}

func (e *env) createPIN(agentID, conversationID string) invitations.PINIssued {
	e.t.Helper()
	out, err := e.svc.CreatePIN(e.t.Context(), agent(agentID), conversationID, invitations.PINRequest{})
	if err != nil {
		e.t.Fatalf("create PIN: %v", err)
	}
	return out
}

func (e *env) createEmail(agentID, conversationID string, req invitations.EmailRequest) invitations.EmailSent {
	e.t.Helper()
	out, err := e.svc.CreateEmail(e.t.Context(), agent(agentID), conversationID, req)
	if err != nil {
		e.t.Fatalf("create email invitation: %v", err)
	}
	return out
}

// redeemPIN and redeemToken redeem as a customer's browser does: a busy answer (503, e.g.
// DynamoDB Local's lock timeouts when a hundred redemptions wait on one item) is retried
// after its Retry-After (testenv.AsClient).
func redeemPIN(t *testing.T, svc *invitations.Service, pin, ip string) (invitations.Joined, error) {
	t.Helper()
	return testenv.AsClient(func() (invitations.Joined, error) {
		return svc.RedeemPIN(t.Context(), anonymous, ip, invitations.RedeemPINRequest{PIN: pin, DisplayName: "Carl"})
	})
}

func redeemToken(t *testing.T, svc *invitations.Service, token, ip string) (invitations.Joined, error) {
	t.Helper()
	return testenv.AsClient(func() (invitations.Joined, error) {
		return svc.RedeemJoinToken(t.Context(), anonymous, ip, invitations.RedeemJoinTokenRequest{Token: token})
	})
}

// mustJoin checks a redemption succeeded and the session works for the conversation.
func (e *env) mustJoin(j invitations.Joined, err error, conversationID string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("redeem: %v", err)
	}
	if j.ConversationID != conversationID || j.SessionToken == "" || !j.ExpiresAt.After(time.Now()) {
		e.t.Fatalf("joined = %+v", j)
	}
	if _, err := e.convs.Get(e.t.Context(), visitor(j), conversationID, nil); err != nil {
		e.t.Fatalf("the new participant cannot read the conversation: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !apperror.Is(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func wantRateLimited(t *testing.T, err error) {
	t.Helper()
	e := apperror.As(err)
	if e.Kind != apperror.KindRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("err = %v (retry after %s), want 429 with Retry-After", err, e.RetryAfter)
	}
}

// wrongPIN is a well-formed PIN that is not pin.
func wrongPIN(pin string) string {
	last := (pin[len(pin)-1]-'0'+1)%10 + '0'
	return pin[:len(pin)-1] + string(rune(last))
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// address is a recipient address nobody else uses, so a test sees only its own mail.
func address(t *testing.T) string { return "customer-" + randomHex(t, 8) + "@example.com" }

func ip(n int) string { return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255) }

// committed are the events of one type in the conversation's history as agents see it:
// what the push function reads from the table's stream.
func (e *env) committed(conversationID, typ string) []conversation.Event {
	e.t.Helper()
	page, err := e.st.Events(e.t.Context(), conversationID, 0, 1000, conversation.KindAgent)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []conversation.Event
	for _, ev := range page.Events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// switchMailer sends through the SES emulator, or, while failing, through a sender the
// emulator refuses (it has no From address) — a real SES failure.
type switchMailer struct {
	working, broken *sesmail.Sender
	failing         atomic.Bool
	sends           atomic.Int32
}

func (m *switchMailer) Send(ctx context.Context, to string, msg mail.Message) (string, error) {
	m.sends.Add(1)
	if m.failing.Load() {
		return m.broken.Send(ctx, to, msg)
	}
	return m.working.Send(ctx, to, msg)
}

// linkIn returns the join link of a mail's text body.
func linkIn(t *testing.T, m testenv.Mail) string {
	t.Helper()
	for _, f := range strings.Fields(m.Text) {
		if strings.Contains(f, "#"+mail.JoinFragmentKey+"=") {
			return f
		}
	}
	t.Fatalf("no join link in:\n%s", m.Text)
	return ""
}

// tokenOf returns the join token in a link's fragment.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	_, frag, ok := strings.Cut(link, "#"+mail.JoinFragmentKey+"=")
	if !ok || frag == "" {
		t.Fatalf("no token in %s", link)
	}
	return frag
}

// onlyMailTo waits for exactly n mails to the address.
func onlyMailTo(t *testing.T, to string, n int) []testenv.Mail {
	t.Helper()
	got := testenv.MailTo(t, to)
	if len(got) != n {
		t.Fatalf("%d mails to %s, want %d", len(got), to, n)
	}
	return got
}

// roundRobin takes the shards of a deployment-wide budget in turn, so tests know when every
// shard is spent.
func roundRobin() func(int) int {
	var next atomic.Int64
	return func(n int) int { return int(next.Add(1)-1) % n }
}
