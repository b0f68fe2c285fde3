// Package pushtest is an API Gateway @connections endpoint for tests: the real SDK client
// posts to it over HTTP, it records what each connection received, and it can make chosen
// connections gone (410 GoneException, as API Gateway answers for a closed connection),
// failing (500) or hanging (until the caller gives up). Only tests import it.
package pushtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// Stage is the stage path the endpoint serves, like https://{api}.execute-api…/{stage}.
const Stage = "test"

// Behaviour is how the endpoint treats one connection.
type Behaviour int

const (
	Deliver Behaviour = iota // 200, and the message is recorded
	Gone                     // 410 GoneException
	Fail                     // 500 InternalServerError
	Hang                     // no answer until the client gives up or the behaviour changes
)

// Server is a fake @connections endpoint.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	behaviours map[string]Behaviour
	received   map[string][][]byte
	closed     map[string]bool
	answers    map[string][]Behaviour
	onDeliver  func(connectionID string)
	changed    chan struct{} // closed and replaced whenever a behaviour changes or a request is answered
	done       chan struct{} // closed when the test ends: hanging requests return
}

// New starts a server that lives as long as the test.
func New(t testing.TB) *Server {
	s := &Server{
		behaviours: map[string]Behaviour{}, received: map[string][][]byte{},
		closed: map[string]bool{}, answers: map[string][]Behaviour{}, changed: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.done)
		// A request the client abandoned mid-flight can leave its connection "active" for
		// the server; cut every connection so Close never waits on one.
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

// Endpoint is the management endpoint URL (what WEBSOCKET_MANAGEMENT_URL holds in AWS).
func (s *Server) Endpoint() string { return s.URL + "/" + Stage }

// Client is the real SDK client pointed at the server.
func (s *Server) Client() *apigatewaymanagementapi.Client {
	return wsapi.NewClient(awsconfig.Static("us-east-1"), s.Endpoint())
}

// Set decides how a connection is treated from now on; a hanging request re-reads it.
func (s *Server) Set(connectionID string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviours[connectionID] = b
	s.notifyLocked()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// OnDeliver is called after each recorded message (from the server's goroutines).
func (s *Server) OnDeliver(fn func(connectionID string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDeliver = fn
}

// Raw returns the payloads a connection received, in order.
func (s *Server) Raw(connectionID string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received[connectionID]...)
}

// Messages returns what a connection received, decoded.
func (s *Server) Messages(t testing.TB, connectionID string) []wsapi.Message {
	t.Helper()
	var out []wsapi.Message
	for _, raw := range s.Raw(connectionID) {
		var m wsapi.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("connection %s received %s: %v", connectionID, raw, err)
		}
		out = append(out, m)
	}
	return out
}

// Answers lists how each request for a connection was answered, in order; Hang means the
// client gave up before an answer.
func (s *Server) Answers(connectionID string) []Behaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Behaviour(nil), s.answers[connectionID]...)
}

// Closed reports whether the connection was closed with DELETE.
func (s *Server) Closed(connectionID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed[connectionID]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/"+Stage+"/@connections/")
	if !ok || id == "" {
		writeError(w, http.StatusNotFound, "NotFoundException")
		return
	}
	// Read the body first: only then does the server notice a client that hangs up.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException")
		return
	}
	b, ok := s.await(r, id)
	s.answered(id, b)
	if !ok {
		return // the client gave up on a hanging connection
	}
	switch b {
	case Gone:
		writeError(w, http.StatusGone, "GoneException")
	case Fail:
		writeError(w, http.StatusInternalServerError, "InternalServerError")
	default:
		s.accept(w, r, id, body)
	}
}

func (s *Server) answered(id string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[id] = append(s.answers[id], b)
	s.notifyLocked()
}

// AwaitAnswers waits until n requests for the connection have been answered (or given up
// on) and returns how: the server may learn that a client gave up a moment after the client
// has moved on.
func (s *Server) AwaitAnswers(t testing.TB, connectionID string, n int) []Behaviour {
	t.Helper()
	for {
		s.mu.Lock()
		got, changed := append([]Behaviour(nil), s.answers[connectionID]...), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-t.Context().Done():
			t.Fatalf("connection %s: %d answers, want %d", connectionID, len(got), n)
		}
	}
}

// await returns the connection's behaviour once it is not Hang, or false when the request
// ends first.
func (s *Server) await(r *http.Request, id string) (Behaviour, bool) {
	for {
		s.mu.Lock()
		b, changed := s.behaviours[id], s.changed
		s.mu.Unlock()
		if b != Hang {
			return b, true
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return Hang, false
		case <-s.done:
			return Hang, false
		}
	}
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	switch r.Method {
	case http.MethodPost:
		s.mu.Lock()
		s.received[id] = append(s.received[id], body)
		notify := s.onDeliver
		s.mu.Unlock()
		if notify != nil {
			notify(id)
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		s.mu.Lock()
		s.closed[id] = true
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"connectedAt":"2026-01-01T00:00:00Z","lastActiveAt":"2026-01-01T00:00:00Z","identity":{"sourceIp":"192.0.2.1","userAgent":"test"}}`)
	default:
		writeError(w, http.StatusMethodNotAllowed, "BadRequestException")
	}
}

// writeError answers like API Gateway: the error type in X-Amzn-ErrorType, which the SDK
// turns into its typed exception (*types.GoneException for 410).
func writeError(w http.ResponseWriter, status int, errorType string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", errorType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"message":"`+errorType+`"}`)
}
