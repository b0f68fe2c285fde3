package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// API Gateway's WebSocket limits (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
const (
	wsMaxMessage   = 128 << 10
	wsIdleTimeout  = 10 * time.Minute
	wsMaxLifetime  = 2 * time.Hour
	wsWriteTimeout = 10 * time.Second
)

// wsAPI serves the WebSocket API and its @connections endpoint.
type wsAPI struct {
	def   wsAPIDef
	fns   *functions
	stage string
	log   *slog.Logger
	now   func() time.Time
	conns *registry

	idleTimeout, maxLifetime time.Duration

	// open counts live sockets: the server's Shutdown does not track upgraded connections,
	// so Close waits on this for every $disconnect to have run.
	open    sync.WaitGroup
	mu      sync.Mutex
	closing bool // set by shutdown; no socket is tracked after it
}

// track counts a new socket unless the gateway is shutting down.
func (a *wsAPI) track() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.open.Add(1)
	return true
}

func newWSAPI(def wsAPIDef, fns *functions, stage string, log *slog.Logger) *wsAPI {
	return &wsAPI{
		def: def, fns: fns, stage: stage, log: log, now: time.Now, conns: newRegistry(),
		idleTimeout: wsIdleTimeout, maxLifetime: wsMaxLifetime,
	}
}

// ServeHTTP routes the WebSocket port: the @connections endpoint under the stage (where the
// management client's endpoint points) and upgrades at the stage path.
func (a *wsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/"+a.stage)
	if id, ok := connectionPath(path); ok {
		a.manage(w, r, id)
		return
	}
	if path == "" || path == "/" {
		a.upgrade(w, r)
		return
	}
	gatewayError(w, http.StatusNotFound, "Not Found")
}

// connectionPath returns the escaped connection id of an @connections path ('@' may arrive
// percent-encoded, depending on the client).
func connectionPath(path string) (string, bool) {
	for _, prefix := range []string{"/@connections/", "/%40connections/"} {
		if id, ok := strings.CutPrefix(path, prefix); ok && id != "" {
			return id, true
		}
	}
	return "", false
}

// upgrade runs $connect (with its authorizer) and, when it succeeds, completes the
// handshake and serves the socket until it closes.
func (a *wsAPI) upgrade(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		gatewayError(w, http.StatusUpgradeRequired, "Upgrade Required")
		return
	}
	c := newConnection(newConnectionID(), a.now(), r)
	if status, msg := a.connect(r, c); status != 0 {
		gatewayError(w, status, msg)
		return
	}
	// Registered only now: while $connect runs, a push to the connection is refused with
	// GoneException, as in AWS; from here on a push waits for the handshake to complete.
	a.conns.add(c)
	// API Gateway does not check Origin: the $connect authorizer decides, and browsers on
	// any allowed web origin connect to this port.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		c.abandon()
		a.conns.remove(c.id)
		a.disconnect(c, websocket.StatusAbnormalClosure, "handshake failed")
		return
	}
	ws.SetReadLimit(wsMaxMessage)
	if !a.track() {
		ws.Close(websocket.StatusGoingAway, "Going away")
		c.abandon()
		a.conns.remove(c.id)
		a.disconnect(c, websocket.StatusGoingAway, "Going away")
		return
	}
	defer a.open.Done()
	c.opened(ws)
	a.log.Info("websocket connected", "connectionId", c.id)
	code, reason := a.serve(c)
	a.conns.remove(c.id)
	a.disconnect(c, code, reason)
	a.log.Info("websocket disconnected", "connectionId", c.id, "status", int(code))
}

// connect authorizes and invokes $connect; it returns 0 when the connection is accepted, or
// the status and message to refuse it with.
func (a *wsAPI) connect(r *http.Request, c *connection) (int, string) {
	route, ok := a.def.routes["$connect"]
	if !ok {
		return 0, ""
	}
	rc := a.requestContext(c, "$connect", "CONNECT", r.Host)
	if route.authorizer != nil {
		d := a.authorizeConnect(r.Context(), r, route.authorizer, rc)
		if d.status != 0 {
			return d.status, d.message
		}
		// Every later event of the connection carries the same authorizer context.
		c.authorizer, rc.Authorizer = d.context, d.context
	}
	headers, multi := wsHeaders(r)
	query, multiQuery := wsQuery(r)
	ev := events.APIGatewayWebsocketProxyRequest{
		Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		RequestContext: rc,
	}
	var resp events.APIGatewayProxyResponse
	if err := a.fns.byID[route.function].invoke(r.Context(), ev, &resp); err != nil {
		a.log.Error("$connect failed", "function", route.function, "connectionId", c.id, "error", err.Error())
		return http.StatusInternalServerError, "Internal Server Error"
	}
	if resp.StatusCode != 0 && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return resp.StatusCode, http.StatusText(resp.StatusCode)
	}
	return 0, ""
}

// serve reads messages until the socket closes, the client is idle too long or the
// connection reaches its maximum lifetime; it returns the close status and reason.
func (a *wsAPI) serve(c *connection) (websocket.StatusCode, string) {
	idle := time.AfterFunc(a.idleTimeout, func() { c.close(websocket.StatusGoingAway, "Going away") })
	defer idle.Stop()
	lifetime := time.AfterFunc(a.maxLifetime, func() { c.close(websocket.StatusGoingAway, "Going away") })
	defer lifetime.Stop()
	for {
		typ, data, err := c.socket().Read(context.Background())
		if err != nil {
			return closeStatus(err, c)
		}
		idle.Reset(a.idleTimeout)
		c.touch(a.now())
		a.message(c, typ, data)
	}
}

// closeStatus is the status the connection ended with, as $disconnect reports it.
func closeStatus(err error, c *connection) (websocket.StatusCode, string) {
	if code, reason, ok := c.closedByServer(); ok {
		return code, reason
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Reason
	}
	return websocket.StatusAbnormalClosure, ""
}

// message routes one client message and invokes its route.
func (a *wsAPI) message(c *connection, typ websocket.MessageType, data []byte) {
	route, ok := a.def.selectRoute(data)
	rc := a.requestContext(c, route.key, "MESSAGE", c.domainName)
	rc.MessageID = newConnectionID()
	if !ok {
		a.reply(c, map[string]string{"message": "Forbidden", "connectionId": c.id, "requestId": rc.RequestID})
		return
	}
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: rc}
	if typ == websocket.MessageText && utf8.Valid(data) {
		ev.Body = string(data)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(data), true
	}
	var resp events.APIGatewayProxyResponse
	if err := a.fns.byID[route.function].invoke(context.Background(), ev, &resp); err != nil {
		a.log.Error("WebSocket route failed", "route", route.key, "function", route.function, "connectionId", c.id, "error", err.Error())
		a.reply(c, map[string]string{"message": "Internal server error", "connectionId": c.id, "requestId": rc.RequestID})
		return
	}
	if route.twoWay && resp.Body != "" {
		_ = c.send(context.Background(), []byte(resp.Body))
	}
}

func (a *wsAPI) reply(c *connection, v any) {
	b, _ := json.Marshal(v)
	_ = c.send(context.Background(), b)
}

// selectRoute applies the route selection expression ($request.body.<path>) to a message;
// an unmatched message goes to $default if there is one.
func (d wsAPIDef) selectRoute(data []byte) (wsRoute, bool) {
	if path, ok := strings.CutPrefix(d.selection, "$request.body."); ok {
		var body any
		if json.Unmarshal(data, &body) == nil {
			for _, k := range strings.Split(path, ".") {
				body = asMap(body)[k]
			}
			if key, ok := body.(string); ok && !strings.HasPrefix(key, "$") {
				if r, found := d.routes[key]; found {
					return r, true
				}
			}
		}
	}
	r, ok := d.routes["$default"]
	if !ok {
		r.key = "$default"
	}
	return r, ok
}

// disconnect invokes $disconnect, after the connection has left the registry: from then on
// a push to it is answered GoneException, as in AWS.
func (a *wsAPI) disconnect(c *connection, code websocket.StatusCode, reason string) {
	route, ok := a.def.routes["$disconnect"]
	if !ok {
		return
	}
	rc := a.requestContext(c, "$disconnect", "DISCONNECT", c.domainName)
	rc.DisconnectStatusCode = int64(code)
	rc.DisconnectReason = &reason
	ev := events.APIGatewayWebsocketProxyRequest{Headers: c.headers, MultiValueHeaders: c.multiHeaders, RequestContext: rc}
	if err := a.fns.byID[route.function].invoke(context.Background(), ev, nil); err != nil {
		a.log.Error("$disconnect failed", "function", route.function, "connectionId", c.id, "error", err.Error())
	}
}

// requestContext is the WebSocket requestContext API Gateway sends with every event of a
// connection.
func (a *wsAPI) requestContext(c *connection, routeKey, eventType, domain string) events.APIGatewayWebsocketProxyRequestContext {
	now := a.now()
	id := newRequestID()
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey:          routeKey,
		EventType:         eventType,
		ExtendedRequestID: id,
		RequestTime:       requestTime(now),
		MessageDirection:  "IN",
		Stage:             a.stage,
		ConnectedAt:       c.connectedAt.UnixMilli(),
		RequestTimeEpoch:  now.UnixMilli(),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		RequestID:         id,
		DomainName:        domain,
		ConnectionID:      c.id,
		APIID:             localWSAPI,
		Authorizer:        c.authorizer,
	}
}

// shutdown closes every socket (each runs its $disconnect) and waits for them, or for ctx.
func (a *wsAPI) shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	for _, c := range a.conns.all() {
		c.close(websocket.StatusGoingAway, "Going away")
	}
	done := make(chan struct{})
	go func() { a.open.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
