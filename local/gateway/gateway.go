package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// DefaultStage is the WebSocket API's stage when Config.Stage is empty: the first segment of
// the WebSocket URL and of the @connections endpoint, as in AWS.
const DefaultStage = "dev"

// Config says what the gateway serves and where.
type Config struct {
	// HTTPAddr and WebSocketAddr are listen addresses ("127.0.0.1:3000"); port 0 picks one.
	HTTPAddr, WebSocketAddr string
	// Stage of the WebSocket API; "" means DefaultStage.
	Stage    string
	Template *samtemplate.Template
	// AllowedOrigins are CORS's AllowOrigins, which the template takes from a parameter;
	// none means DefaultOrigins.
	AllowedOrigins []string
	// Keys sign dev agent tokens and are published as the JWKS the verifier trusts.
	Keys *devkeys.Keys
	// DemoDir is served at /demo/; "" serves no demo.
	DemoDir string
	Log     *slog.Logger
	// Handlers are the handler constructors by logical id; nil means ByLogicalID.
	Handlers map[string]Constructor
	// Deps builds the dependencies all handlers share. It is called once, when the gateway
	// listens and serves its JWKS, with the gateway's URLs and the real JWT verifier pointed
	// at that JWKS; it should pass the verifier as setup.Overrides.AgentTokens.
	Deps func(u URLs, agents auth.AgentTokens) (*setup.Deps, error)
}

// URLs are where the gateway serves.
type URLs struct {
	HTTP       string // HTTP API base URL (routes at its root)
	WebSocket  string // WebSocket API URL; clients add ?ticket=
	Management string // @connections endpoint base: WEBSOCKET_MANAGEMENT_URL
	JWKS       string // dev signing key as a JWK Set
	Issuer     string // iss of dev agent tokens
	Token      string // POST {"agentId"} → {"token"}
	Demo       string // demo page
}

// Gateway is a running local gateway.
type Gateway struct {
	urls    URLs
	log     *slog.Logger
	httpSrv *http.Server
	wsSrv   *http.Server
	httpAPI atomic.Pointer[httpAPI]
	wsAPI   atomic.Pointer[wsAPI]
	// fns are the functions, for the routes the gateway serves itself (/_dev/ses-events).
	fns  atomic.Pointer[functions]
	errs chan error
	// stopSchedules ends the scheduled functions (schedules.go).
	stopSchedules func()
}

// Start listens on both addresses, builds every handler from the template and serves until
// Close. It returns once every route is ready.
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Stage == "" {
		cfg.Stage = DefaultStage
	}
	if cfg.Handlers == nil {
		cfg.Handlers = ByLogicalID
	}
	g := &Gateway{log: cfg.Log, errs: make(chan error, 2)}
	httpL, wsL, err := listen(cfg.HTTPAddr, cfg.WebSocketAddr)
	if err != nil {
		return nil, err
	}
	g.urls = newURLs(httpL.Addr(), wsL.Addr(), cfg.Stage)
	g.httpSrv = g.serve(httpL, g.httpMux(cfg))
	g.wsSrv = g.serve(wsL, http.HandlerFunc(g.serveWebSocket))
	if err := g.mount(ctx, cfg); err != nil {
		_ = g.Close(context.Background())
		return nil, err
	}
	return g, nil
}

func (cfg Config) validate() error {
	switch {
	case cfg.Template == nil:
		return errors.New("gateway: Config.Template is required")
	case cfg.Keys == nil:
		return errors.New("gateway: Config.Keys is required")
	case cfg.Log == nil:
		return errors.New("gateway: Config.Log is required")
	case cfg.Deps == nil:
		return errors.New("gateway: Config.Deps is required")
	}
	return nil
}

func listen(httpAddr, wsAddr string) (net.Listener, net.Listener, error) {
	httpL, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: HTTP API: %w", err)
	}
	wsL, err := net.Listen("tcp", wsAddr)
	if err != nil {
		httpL.Close()
		return nil, nil, fmt.Errorf("gateway: WebSocket API: %w", err)
	}
	return httpL, wsL, nil
}

// newURLs names the listeners by a host a browser can open: an address listening on every
// interface is reached at 127.0.0.1.
func newURLs(httpAddr, wsAddr net.Addr, stage string) URLs {
	h, w := hostPort(httpAddr), hostPort(wsAddr)
	base := "http://" + h
	return URLs{
		HTTP:       base,
		WebSocket:  "ws://" + w + "/" + stage,
		Management: "http://" + w + "/" + stage,
		JWKS:       base + "/_dev/jwks.json",
		Issuer:     base + "/_dev",
		Token:      base + "/_dev/token",
		Demo:       base + "/demo/",
	}
}

// DefaultOrigins are the web origins of the gateway's own HTTP port (where the demo page is
// served), by IP and by name.
func DefaultOrigins(u URLs) []string {
	parsed, err := url.Parse(u.HTTP)
	if err != nil {
		return []string{u.HTTP}
	}
	return []string{"http://localhost:" + parsed.Port(), "http://127.0.0.1:" + parsed.Port()}
}

func hostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

func (g *Gateway) serve(l net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.errs <- err
		}
	}()
	return srv
}

// httpMux serves the dev identity and the demo beside the API. The JWKS must be served
// before the API is mounted: building the verifier fetches it.
func (g *Gateway) httpMux(cfg Config) http.Handler {
	dev := devIdentity{keys: cfg.Keys, issuer: g.urls.Issuer, urls: g.urls, log: cfg.Log}
	mux := http.NewServeMux()
	mux.Handle("/_dev/jwks.json", cfg.Keys.Handler())
	mux.HandleFunc("/_dev/token", dev.token)
	mux.HandleFunc("GET /_dev/config", dev.config)
	mux.HandleFunc("POST /_dev/ses-events", g.sesEvents)
	if cfg.DemoDir != "" {
		mux.Handle("/demo/", noStore(http.StripPrefix("/demo/", http.FileServer(http.Dir(cfg.DemoDir)))))
		mux.Handle("/demo", http.RedirectHandler("/demo/", http.StatusMovedPermanently))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if api := g.httpAPI.Load(); api != nil {
			api.ServeHTTP(w, r)
			return
		}
		gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
	})
	return mux
}

// noStore keeps browsers from caching the demo, so an edit shows on reload.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if api := g.wsAPI.Load(); api != nil {
		api.ServeHTTP(w, r)
		return
	}
	gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
}

// mount builds the verifier, the dependencies and every handler, then opens the routes.
func (g *Gateway) mount(ctx context.Context, cfg Config) error {
	verifier, err := auth.NewAgentVerifier(ctx, auth.AgentVerifierConfig{
		JWKSURL: g.urls.JWKS, Issuer: g.urls.Issuer, Audiences: []string{DevAudience},
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	deps, err := cfg.Deps(g.urls, verifier)
	if err != nil {
		return fmt.Errorf("gateway: dependencies: %w", err)
	}
	httpDef, err := readHTTPAPI(cfg.Template)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	fns := newFunctions(cfg.Template, cfg.Handlers, deps, cfg.Log)
	wsDef, err := readWebSocketAPI(cfg.Template, fns.has)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	origins := cfg.AllowedOrigins
	if len(origins) == 0 {
		origins = DefaultOrigins(g.urls)
	}
	httpDef.cors.allowOrigins = append(httpDef.cors.allowOrigins, origins...)
	fns.initAll()
	warnMissingHandlers(cfg.Log, httpDef, wsDef, fns)
	g.fns.Store(fns)
	g.httpAPI.Store(newHTTPAPI(httpDef, fns, cfg.Log))
	g.wsAPI.Store(newWSAPI(wsDef, fns, cfg.Stage, cfg.Log))
	g.stopSchedules = runSchedules(cfg.Template, fns, cfg.Log)
	return nil
}

// warnMissingHandlers names routes whose function has no handler constructor yet: they
// answer 500, as an API whose Lambda cannot start would.
func warnMissingHandlers(log *slog.Logger, h httpAPIDef, ws wsAPIDef, fns *functions) {
	for _, r := range h.routes {
		if !fns.has(r.FunctionLogicalID) {
			log.Warn("route has no handler; it answers 500", "route", r.Method+" "+r.Path, "function", r.FunctionLogicalID)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(ws.routes)) {
		r := ws.routes[key]
		if !fns.has(r.function) {
			log.Warn("WebSocket route has no handler", "route", key, "function", r.function)
		}
	}
}

// URLs are where the gateway serves.
func (g *Gateway) URLs() URLs { return g.urls }

// Err reports a server that stopped on its own (its listener failed).
func (g *Gateway) Err() <-chan error { return g.errs }

// Routes describes what is served, one line per route, for printing.
func (g *Gateway) Routes() []string {
	var out []string
	if api := g.httpAPI.Load(); api != nil {
		for _, r := range api.routes {
			out = append(out, fmt.Sprintf("%-6s %-48s %s", r.Method, r.Path, r.FunctionLogicalID))
		}
	}
	if api := g.wsAPI.Load(); api != nil {
		for _, key := range slices.Sorted(maps.Keys(api.def.routes)) {
			out = append(out, fmt.Sprintf("%-6s %-48s %s", "WS", key, api.def.routes[key].function))
		}
	}
	return out
}

// Close closes every WebSocket (running each $disconnect) and stops both servers, waiting
// for requests in flight until ctx ends.
func (g *Gateway) Close(ctx context.Context) error {
	var errs []error
	if g.stopSchedules != nil {
		g.stopSchedules()
	}
	if api := g.wsAPI.Load(); api != nil {
		errs = append(errs, api.shutdown(ctx))
	}
	errs = append(errs, g.httpSrv.Shutdown(ctx), g.wsSrv.Shutdown(ctx))
	return errors.Join(errs...)
}
