package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// webOrigin is the web app origin the tests' CORS configuration allows.
const webOrigin = "https://app.example.test"

// stack is a gateway over a fresh table, on free ports.
type stack struct {
	t     *testing.T
	gw    *gateway.Gateway
	urls  gateway.URLs
	store *store.Store
	logs  *syncBuffer
}

type option func(*gateway.Config)

// withHandlers adds or replaces handler constructors (test doubles of WebSocket functions).
func withHandlers(extra map[string]gateway.Constructor) option {
	return func(c *gateway.Config) {
		merged := maps.Clone(gateway.ByLogicalID)
		maps.Copy(merged, extra)
		c.Handlers = merged
	}
}

func withTemplate(tmpl *samtemplate.Template) option {
	return func(c *gateway.Config) { c.Template = tmpl }
}

func start(t *testing.T, opts ...option) *stack {
	t.Helper()
	st := store.New(testenv.DynamoDB(t), testenv.NewTable(t))
	keys, err := devkeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	awsCfg := awsconfig.Static(testenv.Region)
	cfg := gateway.Config{
		HTTPAddr: "127.0.0.1:0", WebSocketAddr: "127.0.0.1:0",
		Template:       repoTemplate(t),
		AllowedOrigins: []string{webOrigin},
		Keys:           keys,
		Log:            log,
		// Pushes come from the table's stream, read here like Lambda's event source mapping.
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		Deps: func(u gateway.URLs, agents auth.AgentTokens) (*setup.Deps, error) {
			// The real management client, pointed at this gateway's @connections endpoint.
			mgmt := wsapi.NewClient(awsCfg, u.Management)
			// Every function must initialise, as under make dev: a deployment secret and
			// invitation settings like the dev program's.
			inv := invitations.DefaultConfig()
			inv.AllowedOrigins = []string{webOrigin}
			inv.DefaultJoinPage = webOrigin + "/demo/join.html"
			return setup.With(log, setup.Overrides{AWS: &awsCfg, Store: st, AgentTokens: agents, Management: mgmt,
				DeploymentSecret: []byte("gateway-test-secret-0123456789abcdef0123456789"), Invitations: &inv,
				UnsignedSESEvents: true}), nil // as make dev: POST /_dev/ses-events sends no signature
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	gw, err := gateway.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Close(ctx); err != nil {
			t.Errorf("close gateway: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	return &stack{t: t, gw: gw, urls: gw.URLs(), store: st, logs: logs}
}

func repoTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request to the gateway's HTTP port. body is JSON-encoded unless it is a string.
func (s *stack) do(method, path, bearer string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.urls.HTTP+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// agentToken gets a dev token for agentID from the gateway's token endpoint.
func (s *stack) agentToken(agentID string) string {
	s.t.Helper()
	r := s.do(http.MethodPost, "/_dev/token", "", map[string]string{"agentId": agentID})
	if r.status != http.StatusOK {
		s.t.Fatalf("POST /_dev/token: %d %s", r.status, r.body)
	}
	var out struct{ Token string }
	r.decode(s.t, &out)
	return out.Token
}

// started is POST /conversations' answer.
type started struct {
	ConversationID string
	ParticipantID  string
	SessionToken   string
}

func (s *stack) startConversation(bearer string) started {
	s.t.Helper()
	r := s.do(http.MethodPost, "/conversations", bearer, map[string]string{"topic": "Billing question"})
	if r.status != http.StatusCreated {
		s.t.Fatalf("POST /conversations: %d %s", r.status, r.body)
	}
	var out started
	r.decode(s.t, &out)
	return out
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	var b struct{ Error struct{ Code string } }
	r.decode(t, &b)
	return b.Error.Code
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
