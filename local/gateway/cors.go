package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// corsConfig is an HTTP API's CorsConfiguration. API Gateway applies it itself: it answers
// preflight requests without invoking anything, adds the CORS headers to responses for allowed
// origins, and ignores CORS headers an integration returns.
type corsConfig struct {
	enabled          bool
	allowOrigins     []string
	allowHeaders     []string
	allowMethods     []string
	exposeHeaders    []string
	maxAge           int
	allowCredentials bool
}

func readCORS(c map[string]any) corsConfig {
	if c == nil {
		return corsConfig{}
	}
	cfg := corsConfig{
		enabled:          true,
		allowOrigins:     literalStrings(c["AllowOrigins"]), // usually a Ref: the caller supplies them
		allowHeaders:     literalStrings(c["AllowHeaders"]),
		allowMethods:     literalStrings(c["AllowMethods"]),
		exposeHeaders:    literalStrings(c["ExposeHeaders"]),
		allowCredentials: c["AllowCredentials"] == true,
	}
	if n, ok := c["MaxAge"].(int); ok {
		cfg.maxAge = n
	}
	return cfg
}

func literalStrings(v any) []string {
	var out []string
	for _, item := range listOf(v) {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// allows reports whether origin may read responses. API Gateway compares origins exactly.
func (c corsConfig) allows(origin string) bool {
	if !c.enabled || origin == "" {
		return false
	}
	return slices.Contains(c.allowOrigins, "*") || slices.Contains(c.allowOrigins, origin)
}

// isPreflight: API Gateway answers these itself when CORS is configured, whatever the path.
func (c corsConfig) isPreflight(r *http.Request) bool {
	return c.enabled && r.Method == http.MethodOptions &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers an OPTIONS preflight: 204, with the CORS headers only when the origin
// and the requested method are allowed.
func (c corsConfig) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	h := w.Header()
	h.Add("Vary", "Origin")
	if c.allows(origin) && c.allowsMethod(method) {
		h.Set("Access-Control-Allow-Origin", c.originValue(origin))
		h.Set("Access-Control-Allow-Methods", strings.Join(c.allowMethods, ","))
		if len(c.allowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.ToLower(strings.Join(c.allowHeaders, ",")))
		}
		if c.maxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(c.maxAge))
		}
		if c.allowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c corsConfig) allowsMethod(method string) bool {
	return slices.Contains(c.allowMethods, "*") || slices.ContainsFunc(c.allowMethods, func(m string) bool {
		return strings.EqualFold(m, method)
	})
}

// decorate sets the CORS headers of an actual (non-preflight) response, replacing any the
// integration returned.
func (c corsConfig) decorate(h http.Header, origin string) {
	if !c.enabled {
		return
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			h.Del(k)
		}
	}
	h.Add("Vary", "Origin")
	if !c.allows(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", c.originValue(origin))
	if len(c.exposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.ToLower(strings.Join(c.exposeHeaders, ",")))
	}
	if c.allowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (c corsConfig) originValue(origin string) string {
	if slices.Contains(c.allowOrigins, "*") && !c.allowCredentials {
		return "*"
	}
	return origin
}
