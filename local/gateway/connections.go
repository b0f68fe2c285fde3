package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// handshakeWait bounds how long a push to a connection whose $connect has succeeded waits
// for the WebSocket handshake to finish.
const handshakeWait = 5 * time.Second

var errGone = errors.New("connection is gone")

// connection is one client socket, from a successful $connect until it closes.
type connection struct {
	id           string
	connectedAt  time.Time
	sourceIP     string
	userAgent    string
	domainName   string
	headers      map[string]string
	multiHeaders map[string][]string
	authorizer   map[string]any // set before $connect runs; read-only afterwards

	ready chan struct{} // closed once the socket is open, or abandoned

	mu          sync.Mutex
	ws          *websocket.Conn
	lastActive  time.Time
	closeCode   websocket.StatusCode
	closeReason string
	closed      bool
}

func newConnection(id string, now time.Time, r *http.Request) *connection {
	headers, multi := wsHeaders(r)
	return &connection{
		id: id, connectedAt: now, lastActive: now,
		sourceIP: remoteIP(r), userAgent: r.UserAgent(), domainName: r.Host,
		headers: headers, multiHeaders: multi,
		ready: make(chan struct{}),
	}
}

func (c *connection) opened(ws *websocket.Conn) {
	c.mu.Lock()
	c.ws = ws
	closed, code, reason := c.closed, c.closeCode, c.closeReason
	c.mu.Unlock()
	close(c.ready)
	if closed { // closed (DELETE, shutdown) during the handshake
		go func() { _ = ws.Close(code, reason) }()
	}
}

func (c *connection) abandon() { close(c.ready) }

func (c *connection) socket() *websocket.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws
}

func (c *connection) touch(at time.Time) {
	c.mu.Lock()
	c.lastActive = at
	c.mu.Unlock()
}

// waitOpen waits for the handshake and returns the socket, or errGone.
func (c *connection) waitOpen(ctx context.Context) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeWait)
	defer cancel()
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, errGone
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws == nil || c.closed {
		return nil, errGone
	}
	return c.ws, nil
}

// send writes data to the client: text if it is UTF-8, binary otherwise.
func (c *connection) send(ctx context.Context, data []byte) error {
	ws, err := c.waitOpen(ctx)
	if err != nil {
		return err
	}
	typ := websocket.MessageText
	if !utf8.Valid(data) {
		typ = websocket.MessageBinary
	}
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	if err := ws.Write(ctx, typ, data); err != nil {
		return errGone
	}
	c.touch(time.Now())
	return nil
}

// close closes the socket from the server side. It returns at once: the close handshake
// and $disconnect follow in the connection's own goroutine.
func (c *connection) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeCode, c.closeReason = true, code, reason
	ws := c.ws
	c.mu.Unlock()
	if ws != nil { // else opened closes it
		go func() { _ = ws.Close(code, reason) }()
	}
}

func (c *connection) closedByServer() (websocket.StatusCode, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeReason, c.closed
}

// registry holds the connections that @connections can reach.
type registry struct {
	mu    sync.Mutex
	conns map[string]*connection
}

func newRegistry() *registry { return &registry{conns: map[string]*connection{}} }

func (r *registry) add(c *connection) {
	r.mu.Lock()
	r.conns[c.id] = c
	r.mu.Unlock()
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	delete(r.conns, id)
	r.mu.Unlock()
}

func (r *registry) get(id string) *connection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[id]
}

func (r *registry) all() []*connection {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*connection, 0, len(r.conns))
	for _, c := range r.conns {
		out = append(out, c)
	}
	return out
}

// manage serves the @connections API: POST sends, GET describes, DELETE closes. Errors are
// shaped like AWS's (status, X-Amzn-ErrorType, {"message"}) so that the SDK decodes them to
// its typed exceptions. Requests are not checked for a SigV4 signature.
func (a *wsAPI) manage(w http.ResponseWriter, r *http.Request, escapedID string) {
	id, err := url.PathUnescape(escapedID)
	c := a.conns.get(id)
	if err != nil || c == nil {
		managementError(w, http.StatusGone, "GoneException", "The connection is gone or does not exist")
		return
	}
	switch r.Method {
	case http.MethodPost:
		a.post(w, r, c)
	case http.MethodGet:
		a.describe(w, r, c)
	case http.MethodDelete:
		if _, err := c.waitOpen(r.Context()); err != nil {
			managementError(w, http.StatusGone, "GoneException", "The connection is gone or does not exist")
			return
		}
		c.close(websocket.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	default:
		managementError(w, http.StatusNotFound, "NotFoundException", "Not Found")
	}
}

func (a *wsAPI) post(w http.ResponseWriter, r *http.Request, c *connection) {
	data, err := io.ReadAll(io.LimitReader(r.Body, wsMaxMessage+1))
	if err != nil {
		managementError(w, http.StatusBadRequest, "BadRequestException", "The request body could not be read")
		return
	}
	if len(data) > wsMaxMessage {
		managementError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "The payload is larger than 128 KB")
		return
	}
	if err := c.send(r.Context(), data); err != nil {
		managementError(w, http.StatusGone, "GoneException", "The connection is gone or does not exist")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// connectionDescription is GetConnection's answer.
type connectionDescription struct {
	ConnectedAt string `json:"connectedAt"`
	Identity    struct {
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
	} `json:"identity"`
	LastActiveAt string `json:"lastActiveAt"`
}

func (a *wsAPI) describe(w http.ResponseWriter, r *http.Request, c *connection) {
	if _, err := c.waitOpen(r.Context()); err != nil {
		managementError(w, http.StatusGone, "GoneException", "The connection is gone or does not exist")
		return
	}
	var d connectionDescription
	c.mu.Lock()
	d.ConnectedAt = c.connectedAt.UTC().Format(time.RFC3339Nano)
	d.LastActiveAt = c.lastActive.UTC().Format(time.RFC3339Nano)
	c.mu.Unlock()
	d.Identity.SourceIP, d.Identity.UserAgent = c.sourceIP, c.userAgent
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(d)
}

func managementError(w http.ResponseWriter, status int, errorType, message string) {
	b, _ := json.Marshal(map[string]string{"message": message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", errorType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
