package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
)

const (
	agentTestIssuer   = "https://idp.example.test/us-east-1_pool"
	agentTestAudience = "agent-desk"
	agentTestClientID = "3n4b5urk1ft4fl3mg5e62d9ado"
)

// agentTestRSAKey is generated once: RSA generation is slow, and sharing a read-only key
// between parallel tests is harmless.
var agentTestRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// agentTestKey is a signing key of the test identity provider.
type agentTestKey struct {
	kid     string
	method  jwt.SigningMethod
	private crypto.Signer
}

func newRSATestKey(kid string) agentTestKey {
	return agentTestKey{kid: kid, method: jwt.SigningMethodRS256, private: agentTestRSAKey()}
}

func newECTestKey(t testing.TB, kid string) agentTestKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return agentTestKey{kid: kid, method: jwt.SigningMethodES256, private: k}
}

func (k agentTestKey) jwk(t testing.TB) jwkset.JWKMarshal {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(k.private.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return j.Marshal()
}

func (k agentTestKey) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// agentTestClaims are the claims of a valid agent ID token, issued now.
func agentTestClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": "agent-42",
		"iss": agentTestIssuer,
		"aud": agentTestAudience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// cognitoAccessClaims are shaped like a Cognito access token: no aud, a client_id.
func cognitoAccessClaims(clientID string) jwt.MapClaims {
	c := agentTestClaims()
	delete(c, "aud")
	c["token_use"] = "access"
	c["client_id"] = clientID
	return c
}

// jwksTestServer is the identity provider's JWKS endpoint. It counts requests, so tests
// can see the cache at work, and can be told to fail.
type jwksTestServer struct {
	*httptest.Server
	fetches atomic.Int64
	failing atomic.Int64 // the next n requests answer 503

	mu   sync.Mutex
	body []byte
}

func newJWKSTestServer(t testing.TB, keys ...agentTestKey) *jwksTestServer {
	t.Helper()
	s := &jwksTestServer{}
	s.publish(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksTestServer) serve(w http.ResponseWriter, _ *http.Request) {
	s.fetches.Add(1)
	if s.failing.Add(-1) >= 0 {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.body)
}

// publish replaces the served set, as a provider does when it rotates keys.
func (s *jwksTestServer) publish(t testing.TB, keys ...agentTestKey) {
	t.Helper()
	set := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk(t))
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func newAgentTestVerifier(t testing.TB, jwksURL string) *auth.AgentVerifier {
	t.Helper()
	v, err := auth.NewAgentVerifier(t.Context(), auth.AgentVerifierConfig{
		JWKSURL:   jwksURL,
		Issuer:    agentTestIssuer,
		Audiences: []string{agentTestAudience, agentTestClientID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func requireAgent(t *testing.T, p auth.Principal, err error, agentID string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Verify refused a valid token: %v", err)
	}
	if p.Kind != auth.Agent || p.AgentID != agentID || !p.IsAgent() {
		t.Fatalf("Verify = %+v, want agent %q", p, agentID)
	}
}

// requireRefused checks the code and that the token leaks into neither message nor cause.
func requireRefused(t *testing.T, p auth.Principal, err error, code, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify accepted the token as %+v, want %s", p, code)
	}
	e := apperror.As(err)
	if e.Kind != apperror.KindUnauthenticated || e.Code != code {
		t.Fatalf("Verify error = kind %v code %q (%v), want unauthenticated %q", e.Kind, e.Code, err, code)
	}
	if p != (auth.Principal{}) {
		t.Errorf("refused token still produced principal %+v", p)
	}
	if len(token) > 16 && strings.Contains(err.Error(), token) {
		t.Errorf("error text contains the token")
	}
}

func TestAgentVerifier_AcceptsRS256AndES256(t *testing.T) {
	t.Parallel()
	rsaKey, ecKey := newRSATestKey("rsa-1"), newECTestKey(t, "ec-1")
	srv := newJWKSTestServer(t, rsaKey, ecKey)
	v := newAgentTestVerifier(t, srv.URL)

	for _, k := range []agentTestKey{rsaKey, ecKey} {
		t.Run(k.method.Alg(), func(t *testing.T) {
			t.Parallel()
			p, err := v.Verify(t.Context(), k.sign(t, agentTestClaims()))
			requireAgent(t, p, err, "agent-42")
		})
	}
}

func TestAgentVerifier_AudienceMayBeAList(t *testing.T) {
	t.Parallel()
	key := newECTestKey(t, "ec-1")
	v := newAgentTestVerifier(t, newJWKSTestServer(t, key).URL)

	c := agentTestClaims()
	c["aud"] = []string{"some-other-api", agentTestAudience}
	p, err := v.Verify(t.Context(), key.sign(t, c))
	requireAgent(t, p, err, "agent-42")
}

func TestAgentVerifier_ExpiryLeeway(t *testing.T) {
	t.Parallel()
	key := newECTestKey(t, "ec-1")
	v := newAgentTestVerifier(t, newJWKSTestServer(t, key).URL)
	now := time.Now()

	t.Run("expired within leeway passes", func(t *testing.T) {
		t.Parallel()
		c := agentTestClaims()
		c["exp"] = now.Add(-10 * time.Second).Unix()
		p, err := v.Verify(t.Context(), key.sign(t, c))
		requireAgent(t, p, err, "agent-42")
	})
	t.Run("expired beyond leeway is token_expired", func(t *testing.T) {
		t.Parallel()
		c := agentTestClaims()
		c["iat"], c["nbf"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
		c["exp"] = now.Add(-2 * time.Minute).Unix()
		tok := key.sign(t, c)
		p, err := v.Verify(t.Context(), tok)
		requireRefused(t, p, err, "token_expired", tok)
	})
	t.Run("not yet valid within leeway passes", func(t *testing.T) {
		t.Parallel()
		c := agentTestClaims()
		c["nbf"], c["iat"] = now.Add(10*time.Second).Unix(), now.Add(10*time.Second).Unix()
		p, err := v.Verify(t.Context(), key.sign(t, c))
		requireAgent(t, p, err, "agent-42")
	})
}

func TestAgentVerifier_RefusesClaims(t *testing.T) {
	t.Parallel()
	key := newECTestKey(t, "ec-1")
	v := newAgentTestVerifier(t, newJWKSTestServer(t, key).URL)
	future := time.Now().Add(2 * time.Minute).Unix()

	tests := []struct {
		name   string
		change func(jwt.MapClaims)
		code   string
	}{
		{"wrong issuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.example.test/" }, "token_wrong_issuer"},
		{"no issuer", func(c jwt.MapClaims) { delete(c, "iss") }, "token_wrong_issuer"},
		{"wrong audience", func(c jwt.MapClaims) { c["aud"] = "another-app" }, "token_wrong_audience"},
		{"no audience", func(c jwt.MapClaims) { delete(c, "aud") }, "token_wrong_audience"},
		{"ID token for another app", func(c jwt.MapClaims) { c["token_use"], c["aud"] = "id", "another-app" }, "token_wrong_audience"},
		{"wrong audience beats expired", func(c jwt.MapClaims) { c["aud"], c["exp"] = "another-app", int64(1) }, "token_wrong_audience"},
		{"no sub", func(c jwt.MapClaims) { delete(c, "sub") }, "token_invalid"},
		{"empty sub", func(c jwt.MapClaims) { c["sub"] = "" }, "token_invalid"},
		{"no exp", func(c jwt.MapClaims) { delete(c, "exp") }, "token_invalid"},
		{"nbf in the future", func(c jwt.MapClaims) { c["nbf"] = future }, "token_invalid"},
		{"iat in the future", func(c jwt.MapClaims) { c["iat"] = future }, "token_invalid"},
		{"exp not a number", func(c jwt.MapClaims) { c["exp"] = "tomorrow" }, "token_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := agentTestClaims()
			tt.change(c)
			tok := key.sign(t, c)
			p, err := v.Verify(t.Context(), tok)
			requireRefused(t, p, err, tt.code, tok)
		})
	}
}

func TestAgentVerifier_CognitoTokens(t *testing.T) {
	t.Parallel()
	key := newRSATestKey("cognito-1")
	v := newAgentTestVerifier(t, newJWKSTestServer(t, key).URL)

	t.Run("access token with our client_id passes", func(t *testing.T) {
		t.Parallel()
		p, err := v.Verify(t.Context(), key.sign(t, cognitoAccessClaims(agentTestClientID)))
		requireAgent(t, p, err, "agent-42")
	})
	t.Run("ID token with our aud passes", func(t *testing.T) {
		t.Parallel()
		c := agentTestClaims()
		c["token_use"], c["aud"] = "id", agentTestClientID
		p, err := v.Verify(t.Context(), key.sign(t, c))
		requireAgent(t, p, err, "agent-42")
	})

	refused := map[string]jwt.MapClaims{
		"access token with another client_id": cognitoAccessClaims("another-client"),
		"client_id without token_use access": func() jwt.MapClaims {
			c := cognitoAccessClaims(agentTestClientID)
			c["token_use"] = "id"
			return c
		}(),
		"access token whose aud names another API": func() jwt.MapClaims {
			c := cognitoAccessClaims(agentTestClientID)
			c["aud"] = "another-api"
			return c
		}(),
	}
	for name, claims := range refused {
		t.Run(name+" is token_wrong_audience", func(t *testing.T) {
			t.Parallel()
			tok := key.sign(t, claims)
			p, err := v.Verify(t.Context(), tok)
			requireRefused(t, p, err, "token_wrong_audience", tok)
		})
	}
}

func TestAgentVerifier_RefusesForgeries(t *testing.T) {
	t.Parallel()
	rsaKey, ecKey := newRSATestKey("rsa-1"), newECTestKey(t, "ec-1")
	v := newAgentTestVerifier(t, newJWKSTestServer(t, rsaKey, ecKey).URL)

	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey.private.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	impostor := newECTestKey(t, "ec-1") // same kid, different key

	tests := map[string]string{
		// The classic: an HS256 token whose HMAC secret is the published RSA key.
		"HS256 signed with the public key": signWith(t, jwt.SigningMethodHS256, "rsa-1", pubPEM),
		"HS256 signed with the public DER": signWith(t, jwt.SigningMethodHS256, "rsa-1", pubDER),
		"alg none":                         signWith(t, jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType),
		"alg none without kid":             signWith(t, jwt.SigningMethodNone, "", jwt.UnsafeAllowNoneSignatureType),
		"RS512 is not accepted":            signWith(t, jwt.SigningMethodRS512, "rsa-1", rsaKey.private),
		"known kid, other key":             impostor.sign(t, agentTestClaims()),
		"ES256 with the RSA key's kid":     signWith(t, jwt.SigningMethodES256, "rsa-1", ecKey.private),
		"unknown kid":                      newECTestKey(t, "never-published").sign(t, agentTestClaims()),
		"tampered payload":                 tamperSubject(t, ecKey.sign(t, agentTestClaims())),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := v.Verify(t.Context(), tok)
			requireRefused(t, p, err, "token_invalid", tok)
		})
	}
}

func signWith(t *testing.T, method jwt.SigningMethod, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, agentTestClaims())
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tamperSubject swaps the payload for one naming another agent, keeping the signature.
func tamperSubject(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	c := agentTestClaims()
	c["sub"] = "agent-admin"
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAgentVerifier_RefusesMissingAndMalformed(t *testing.T) {
	t.Parallel()
	v := newAgentTestVerifier(t, newJWKSTestServer(t, newECTestKey(t, "ec-1")).URL)

	tests := map[string]struct{ token, code string }{
		"empty":            {"", "token_missing"},
		"only spaces":      {"   ", "token_missing"},
		"garbage":          {"definitely not a token", "token_malformed"},
		"two segments":     {"abc.def", "token_malformed"},
		"bad base64":       {"!!!.@@@.###", "token_malformed"},
		"header not JSON":  {"bm90LWpzb24.e30.c2ln", "token_malformed"},
		"absurdly long":    {strings.Repeat("a", 20<<10) + ".b.c", "token_malformed"},
		"empty segments":   {"..", "token_malformed"},
		"scheme left over": {"Bearer abc.def.ghi", "token_malformed"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := v.Verify(t.Context(), tt.token)
			requireRefused(t, p, err, tt.code, tt.token)
		})
	}
}

func TestAgentVerifier_CachesKeysAcrossVerifications(t *testing.T) {
	t.Parallel()
	key := newECTestKey(t, "ec-1")
	srv := newJWKSTestServer(t, key)
	v := newAgentTestVerifier(t, srv.URL)
	tok := key.sign(t, agentTestClaims())

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times for 50 verifications, want 1", n)
	}
}

func TestAgentVerifier_PicksUpRotatedKeyWithoutRebuild(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newECTestKey(t, "2024-key"), newECTestKey(t, "2025-key")
	srv := newJWKSTestServer(t, oldKey)
	v := newAgentTestVerifier(t, srv.URL)

	p, err := v.Verify(t.Context(), oldKey.sign(t, agentTestClaims()))
	requireAgent(t, p, err, "agent-42")

	srv.publish(t, newKey)
	p, err = v.Verify(t.Context(), newKey.sign(t, agentTestClaims()))
	requireAgent(t, p, err, "agent-42")
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (init + one refetch for the new kid)", n)
	}

	// The refetch replaced the set, so the withdrawn key no longer signs anything for us.
	tok := oldKey.sign(t, agentTestClaims())
	p, err = v.Verify(t.Context(), tok)
	requireRefused(t, p, err, "token_invalid", tok)
}

func TestAgentVerifier_UnknownKidFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	key := newECTestKey(t, "ec-1")
	srv := newJWKSTestServer(t, key)
	v := newAgentTestVerifier(t, srv.URL)

	for i := range 30 {
		forged := newECTestKey(t, "random-"+string(rune('a'+i)))
		tok := forged.sign(t, agentTestClaims())
		p, err := v.Verify(t.Context(), tok)
		requireRefused(t, p, err, "token_invalid", tok)
	}
	if n := srv.fetches.Load(); n > 2 {
		t.Errorf("30 unknown kids caused %d JWKS fetches, want at most 2 (init + one refetch)", n)
	}
	// Known agents are unaffected by the flood.
	p, err := v.Verify(t.Context(), key.sign(t, agentTestClaims()))
	requireAgent(t, p, err, "agent-42")
}

func TestAgentVerifier_ProviderDownAtInit_FirstVerifyRetries(t *testing.T) {
	t.Parallel()
	key := newRSATestKey("rsa-1")
	srv := newJWKSTestServer(t, key)
	srv.failing.Store(1)

	v := newAgentTestVerifier(t, srv.URL) // must not fail
	p, err := v.Verify(t.Context(), key.sign(t, agentTestClaims()))
	requireAgent(t, p, err, "agent-42")
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (failed init + retry)", n)
	}
}

func TestAgentVerifier_ProviderUnreachable_RefusesWithoutPanic(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more

	v := newAgentTestVerifier(t, srv.URL)
	key := newECTestKey(t, "ec-1")
	tok := key.sign(t, agentTestClaims())
	p, err := v.Verify(t.Context(), tok)
	requireRefused(t, p, err, "token_invalid", tok)
}

func TestAgentVerifier_SkipsUnusableKeysInTheSet(t *testing.T) {
	t.Parallel()
	key := newECTestKey(t, "ec-1")
	srv := newJWKSTestServer(t, key)
	srv.mu.Lock()
	srv.body = []byte(`{"keys":[
		{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
		{"kty":"EC","kid":"weird","crv":"P-999","x":"AA","y":"AA"},
		{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
		` + string(mustJSON(t, key.jwk(t))) + `]}`)
	srv.mu.Unlock()

	v := newAgentTestVerifier(t, srv.URL)
	p, err := v.Verify(t.Context(), key.sign(t, agentTestClaims()))
	requireAgent(t, p, err, "agent-42")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewAgentVerifier_RefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	ok := auth.AgentVerifierConfig{
		JWKSURL: "https://idp.example.test/jwks.json", Issuer: agentTestIssuer, Audiences: []string{agentTestAudience},
	}
	tests := map[string]func(*auth.AgentVerifierConfig){
		"no JWKS URL":       func(c *auth.AgentVerifierConfig) { c.JWKSURL = "" },
		"relative JWKS URL": func(c *auth.AgentVerifierConfig) { c.JWKSURL = "/jwks.json" },
		"ftp JWKS URL":      func(c *auth.AgentVerifierConfig) { c.JWKSURL = "ftp://idp.example.test/jwks.json" },
		"no issuer":         func(c *auth.AgentVerifierConfig) { c.Issuer = "" },
		"no audiences":      func(c *auth.AgentVerifierConfig) { c.Audiences = nil },
		"empty audience":    func(c *auth.AgentVerifierConfig) { c.Audiences = []string{""} },
		"negative leeway":   func(c *auth.AgentVerifierConfig) { c.Leeway = -time.Second },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			change(&cfg)
			if _, err := auth.NewAgentVerifier(t.Context(), cfg); err == nil {
				t.Fatal("NewAgentVerifier accepted an incomplete config")
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"  Bearer\tabc", "abc", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer     ", "", false},
		{"Bearerabc", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"abc.def.ghi", "", false},
		{"Token abc", "", false},
	}
	for _, tt := range tests {
		token, ok := auth.BearerToken(tt.header)
		if token != tt.token || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, token, ok, tt.token, tt.ok)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  x ", "Basic abc", "Bearer", "Bearer\t", "bEaReR\ty.z", "", " ", "Bearerx", "Bearer \xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := auth.BearerToken(header)
		if !ok {
			if token != "" {
				t.Fatalf("BearerToken(%q) refused but returned %q", header, token)
			}
			return
		}
		if token == "" || token != strings.TrimSpace(token) || !strings.Contains(header, token) {
			t.Fatalf("BearerToken(%q) = %q: not a trimmed, non-empty part of the header", header, token)
		}
		if trimmed := strings.TrimSpace(header); !strings.EqualFold(trimmed[:len("bearer")], "bearer") {
			t.Fatalf("BearerToken(%q) accepted another scheme", header)
		}
	})
}

func FuzzVerify(f *testing.F) {
	rsaKey, ecKey := newRSATestKey("rsa-1"), newECTestKey(f, "ec-1")
	srv := newJWKSTestServer(f, rsaKey, ecKey)
	v := newAgentTestVerifier(f, srv.URL)

	f.Add(rsaKey.sign(f, agentTestClaims()))
	f.Add(ecKey.sign(f, agentTestClaims()))
	f.Add(ecKey.sign(f, cognitoAccessClaims(agentTestClientID)))
	f.Add(ecKey.sign(f, jwt.MapClaims{"sub": 7, "aud": []any{1, nil}, "exp": "x"}))
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJSUzI1NiIsImtpZCI6W119.e30.AA", "\x00.\xff.\n"} {
		f.Add(s)
	}
	codes := map[string]bool{
		"token_missing": true, "token_malformed": true, "token_expired": true, "token_invalid": true,
		"token_wrong_issuer": true, "token_wrong_audience": true,
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(t.Context(), token)
		if err == nil {
			if !p.IsAgent() {
				t.Fatalf("Verify accepted a token but returned %+v", p)
			}
			return
		}
		if e := apperror.As(err); e.Kind != apperror.KindUnauthenticated || !codes[e.Code] {
			t.Fatalf("Verify error kind %v code %q is not a token refusal", e.Kind, e.Code)
		}
	})
}
