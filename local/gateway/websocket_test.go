package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"

	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// ticket gets a connect ticket for the caller holding bearer.
func (s *stack) ticket(bearer string) string {
	s.t.Helper()
	r := s.do(http.MethodPost, "/connect-ticket", bearer, nil)
	if r.status != http.StatusCreated {
		s.t.Fatalf("POST /connect-ticket: %d %s", r.status, r.body)
	}
	var out struct{ Ticket string }
	r.decode(s.t, &out)
	return out.Ticket
}

// dial opens a WebSocket with the given query string; it returns the HTTP status when the
// upgrade is refused.
func (s *stack) dial(query string) (*websocket.Conn, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, s.urls.WebSocket+query, nil)
	if err != nil {
		if resp == nil {
			s.t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	s.t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

// pushMessage is what the server pushes.
type pushMessage struct {
	Type           string          `json:"type"`
	ConversationID string          `json:"conversationId"`
	Data           json.RawMessage `json:"data"`
}

// next reads pushes until one of the wanted type arrives.
func next(t *testing.T, c *websocket.Conn, wantType string) pushMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", wantType, err)
		}
		var m pushMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("push %s is not JSON: %v", data, err)
		}
		if m.Type == wantType {
			return m
		}
	}
}

func (s *stack) management() *apigatewaymanagementapi.Client {
	return wsapi.NewClient(awsconfig.Static(testenv.Region), s.urls.Management)
}

// TestWebSocket_TicketConnectsAndPushesArrive: a visitor opens the WebSocket with a ticket
// from POST /connect-ticket and receives the message it posts over HTTP, pushed by the real
// push code through the @connections endpoint; {"action":"ping"} is answered by $default.
func TestWebSocket_TicketConnectsAndPushesArrive(t *testing.T) {
	s := start(t)
	conv := s.startConversation("")
	ws, status := s.dial("?ticket=" + s.ticket(conv.SessionToken))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("connect with a ticket: %d", status)
	}

	if err := ws.Write(context.Background(), websocket.MessageText, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	next(t, ws, "pong")

	r := s.do(http.MethodPost, "/conversations/"+conv.ConversationID+"/messages", conv.SessionToken, map[string]string{"text": "hello"})
	if r.status != http.StatusCreated {
		t.Fatalf("post message: %d %s", r.status, r.body)
	}
	m := next(t, ws, "message.created")
	if m.ConversationID != conv.ConversationID {
		t.Errorf("pushed for conversation %q, want %q", m.ConversationID, conv.ConversationID)
	}
}

// TestWebSocket_AuthorizerRefuses: no ticket is 401 without invoking anything; an unknown or
// already used ticket is denied by the authorizer's policy, 403.
func TestWebSocket_AuthorizerRefuses(t *testing.T) {
	s := start(t)
	if _, status := s.dial(""); status != http.StatusUnauthorized {
		t.Errorf("no ticket: %d, want 401", status)
	}
	if _, status := s.dial("?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); status != http.StatusForbidden {
		t.Errorf("unknown ticket: %d, want 403", status)
	}
	conv := s.startConversation("")
	ticket := s.ticket(conv.SessionToken)
	if _, status := s.dial("?ticket=" + ticket); status != http.StatusSwitchingProtocols {
		t.Fatalf("first use: %d", status)
	}
	if _, status := s.dial("?ticket=" + ticket); status != http.StatusForbidden {
		t.Errorf("second use of a ticket: %d, want 403", status)
	}
}

// TestWebSocket_DisconnectForgetsTheConnection: when the client closes, $disconnect runs and
// the connection leaves the table; the management API then answers GoneException.
func TestWebSocket_DisconnectForgetsTheConnection(t *testing.T) {
	s := start(t)
	token := s.agentToken("ada")
	ws, status := s.dial("?ticket=" + s.ticket(token))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("connect: %d", status)
	}
	id := s.onlyConnectionOf(t, store.AgentPrincipal("ada"))
	ctx := context.Background()
	got, err := s.management().GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if got.Identity == nil || aws.ToString(got.Identity.SourceIp) != "127.0.0.1" || got.ConnectedAt == nil || got.LastActiveAt == nil {
		t.Errorf("GetConnection = %+v", got)
	}

	if err := ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connection to leave the table", func() bool {
		conns, err := s.store.ConnectionsOf(ctx, []string{store.AgentPrincipal("ada")})
		return err == nil && len(conns) == 0
	})
	_, err = s.management().PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
	var gone *types.GoneException
	if !errors.As(err, &gone) {
		t.Errorf("post after disconnect: %v, want GoneException", err)
	}
}

// TestConnections_DeleteClosesTheSocket: DELETE @connections/{id} closes the client's socket
// and runs $disconnect.
func TestConnections_DeleteClosesTheSocket(t *testing.T) {
	s := start(t)
	ws, status := s.dial("?ticket=" + s.ticket(s.agentToken("grace")))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("connect: %d", status)
	}
	id := s.onlyConnectionOf(t, store.AgentPrincipal("grace"))
	ctx := context.Background()
	if _, err := s.management().DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	readCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := ws.Read(readCtx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("client read after DELETE: %v, want a normal close", err)
	}
	waitFor(t, "$disconnect to remove the connection", func() bool {
		conns, err := s.store.ConnectionsOf(ctx, []string{store.AgentPrincipal("grace")})
		return err == nil && len(conns) == 0
	})
}

// TestConnections_UnknownIsGoneException: the real SDK client decodes the endpoint's 410 into
// its typed GoneException, which the push code relies on to forget stale connections.
func TestConnections_UnknownIsGoneException(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	mgmt := s.management()
	var gone *types.GoneException
	_, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("L0SM9cOFvHcCIhw="), Data: []byte(`{}`)})
	if !errors.As(err, &gone) {
		t.Errorf("PostToConnection: %v, want *types.GoneException", err)
	}
	_, err = mgmt.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("nope")})
	if !errors.As(err, &gone) {
		t.Errorf("GetConnection: %v, want *types.GoneException", err)
	}
	_, err = mgmt.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String("nope")})
	if !errors.As(err, &gone) {
		t.Errorf("DeleteConnection: %v, want *types.GoneException", err)
	}
}

// TestClose_DisconnectsOpenSockets: stopping the gateway closes every socket and runs each
// $disconnect, so nothing stale is left in the table.
func TestClose_DisconnectsOpenSockets(t *testing.T) {
	s := start(t)
	ws, status := s.dial("?ticket=" + s.ticket(s.agentToken("linus")))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("connect: %d", status)
	}
	s.onlyConnectionOf(t, store.AgentPrincipal("linus"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.gw.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client read after Close: %v, want going away", err)
	}
	conns, err := s.store.ConnectionsOf(ctx, []string{store.AgentPrincipal("linus")})
	if err != nil || len(conns) != 0 {
		t.Errorf("connections left after Close: %v %v", conns, err)
	}
}

func (s *stack) onlyConnectionOf(t *testing.T, principal string) string {
	t.Helper()
	var id string
	waitFor(t, "the connection to be stored", func() bool {
		conns, err := s.store.ConnectionsOf(context.Background(), []string{principal})
		if err != nil || len(conns) != 1 {
			return false
		}
		id = conns[0].ID
		return true
	})
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWebSocket_AgentAndVisitorGetTheirConversationsEventsOnly: an agent and a visitor of one
// conversation, and a visitor of another, all on real WebSockets. A second visitor of the
// first conversation posts and leaves: the agent and the visitor receive message.created and
// participant.left; the other conversation's visitor receives neither.
func TestWebSocket_AgentAndVisitorGetTheirConversationsEventsOnly(t *testing.T) {
	s := start(t)
	ada := s.agentToken("ada")
	conv := s.startConversation(ada)
	visitor := s.joinByPIN(ada, conv.ConversationID)
	leaver := s.joinByPIN(ada, conv.ConversationID)
	other := s.startConversation("")

	agentWS, _ := s.dial("?ticket=" + s.ticket(ada))
	visitorWS, _ := s.dial("?ticket=" + s.ticket(visitor))
	otherWS, _ := s.dial("?ticket=" + s.ticket(other.SessionToken))

	if r := s.do(http.MethodPost, "/conversations/"+conv.ConversationID+"/messages", leaver, map[string]string{"text": "hello all"}); r.status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	if r := s.do(http.MethodPost, "/conversations/"+conv.ConversationID+"/leave", leaver, nil); r.status != http.StatusNoContent {
		t.Fatalf("leave: %d %s", r.status, r.body)
	}
	for name, ws := range map[string]*websocket.Conn{"agent": agentWS, "visitor": visitorWS} {
		for _, typ := range []string{"message.created", "participant.left"} {
			if m := next(t, ws, typ); m.ConversationID != conv.ConversationID {
				t.Errorf("%s got %s for %s", name, typ, m.ConversationID)
			}
		}
	}
	// The push function has fanned out the first conversation's events (the agent and the
	// visitor got them), and one connection's messages arrive in order: if anything of it had
	// been pushed to the other visitor, it would come before this pong. The other visitor's
	// own conversation may still be telling its start (the stream is read every 20 ms).
	if err := otherWS.Write(context.Background(), websocket.MessageText, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	for m := nextAny(t, otherWS); m.Type != "pong"; m = nextAny(t, otherWS) {
		if m.ConversationID != other.ConversationID {
			t.Fatalf("the other conversation's visitor received %s (%s)", m.Type, m.ConversationID)
		}
	}
}

// joinByPIN has the agent issue a PIN that a new visitor redeems; it returns the visitor's
// session token.
func (s *stack) joinByPIN(agentBearer, conversationID string) string {
	s.t.Helper()
	r := s.do(http.MethodPost, "/conversations/"+conversationID+"/invitations/pin", agentBearer, nil)
	if r.status != http.StatusCreated {
		s.t.Fatalf("PIN: %d %s", r.status, r.body)
	}
	var pin struct{ PIN string }
	r.decode(s.t, &pin)
	r = s.do(http.MethodPost, "/join/pin", "", map[string]string{"pin": pin.PIN})
	if r.status != http.StatusCreated {
		s.t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	var joined struct{ SessionToken string }
	r.decode(s.t, &joined)
	return joined.SessionToken
}

// nextAny reads the next push, whatever its type.
func nextAny(t *testing.T, c *websocket.Conn) pushMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m pushMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("push %s is not JSON: %v", data, err)
	}
	return m
}

// TestWebSocket_VisitorSocketClosedByTheServerOnLeaveOrEnd: the server closes a visitor's
// socket when they leave or their conversation ends (@connections DELETE by the push function,
// which reads participant.left and conversation.ended from the table's stream), while the
// agent's socket stays open for their other conversations. The bound is a hang's, not a
// measure (tens of milliseconds on a quiet machine; make bench measures the stream path).
func TestWebSocket_VisitorSocketClosedByTheServerOnLeaveOrEnd(t *testing.T) {
	const closeBound = 5 * time.Second // a loaded 2-core machine runs the stream late
	s := start(t)
	ada := s.agentToken("ada")
	conv := s.startConversation(ada)
	leaver := s.joinByPIN(ada, conv.ConversationID)
	stayer := s.joinByPIN(ada, conv.ConversationID)
	agentWS, _ := s.dial("?ticket=" + s.ticket(ada))
	leaverWS, _ := s.dial("?ticket=" + s.ticket(leaver))
	stayerWS, _ := s.dial("?ticket=" + s.ticket(stayer))

	if r := s.do(http.MethodPost, "/conversations/"+conv.ConversationID+"/leave", leaver, nil); r.status != http.StatusNoContent {
		t.Fatalf("leave: %d %s", r.status, r.body)
	}
	closedWithin(t, leaverWS, closeBound, "the visitor who left")
	if r := s.do(http.MethodPost, "/conversations/"+conv.ConversationID+"/end", ada, nil); r.status != http.StatusNoContent {
		t.Fatalf("end: %d %s", r.status, r.body)
	}
	next(t, stayerWS, "conversation.ended")
	closedWithin(t, stayerWS, closeBound, "the visitor of the ended conversation")
	if err := agentWS.Write(context.Background(), websocket.MessageText, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatalf("the agent's socket: %v", err)
	}
	for m := nextAny(t, agentWS); m.Type != "pong"; m = nextAny(t, agentWS) {
	}
}

// closedWithin reads until the server closes the socket, failing if that takes longer than d.
func closedWithin(t *testing.T, ws *websocket.Conn, d time.Duration, who string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue // pushes sent before the close
		}
		if websocket.CloseStatus(err) == -1 {
			t.Fatalf("%s: socket not closed by the server within %v: %v", who, d, err)
		}
		return
	}
}
