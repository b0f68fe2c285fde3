package auth

// Agents sign in at an identity provider (a Cognito user pool or any OIDC provider) and send
// its JWT as a bearer token. This file checks such a token — signature by the provider's JWKS,
// issuer, audience, expiry — and turns it into an agent Principal. Nothing here knows about
// conversations: which agent may do what is decided on the data.

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

const (
	// agentJWTDefaultLeeway absorbs clock skew between the provider and Lambda.
	agentJWTDefaultLeeway = 30 * time.Second

	// agentJWTMaxBytes bounds the work a caller can make us do with one header. Real tokens
	// (Cognito's included, with groups) stay well below it.
	agentJWTMaxBytes = 16 << 10

	// jwksMaxAge is how long fetched keys are used before the next verification refetches
	// them, so a key the provider withdraws stops being accepted within this time even if no
	// unknown kid ever arrives.
	jwksMaxAge = time.Hour

	// jwksMinRefetchInterval allows at most one refetch per interval, however many tokens
	// with unknown kids arrive: forged tokens with random kids must not turn every warm Lambda
	// into a load generator against the provider. A genuine key rotation is picked up on its
	// first token, or at worst one interval later.
	jwksMinRefetchInterval = 30 * time.Second

	// jwksFetchTimeout keeps a slow provider from eating the request's whole time budget.
	jwksFetchTimeout = 5 * time.Second

	// jwksMaxBytes bounds the JWKS document we are willing to read.
	jwksMaxBytes = 1 << 20
)

// Stable codes of refused agent tokens; clients switch on them (for example, refresh the
// token on token_expired).
const (
	codeTokenMissing       = "token_missing"
	codeTokenMalformed     = "token_malformed"
	codeTokenExpired       = "token_expired"
	codeTokenInvalid       = "token_invalid"
	codeTokenWrongIssuer   = "token_wrong_issuer"
	codeTokenWrongAudience = "token_wrong_audience"
)

// agentTokenMessages are what a caller reads. They never quote the token.
var agentTokenMessages = map[string]string{
	codeTokenMissing:       "no bearer token was sent",
	codeTokenMalformed:     "the bearer token is not a well-formed JWT",
	codeTokenExpired:       "the bearer token has expired",
	codeTokenInvalid:       "the bearer token is not valid",
	codeTokenWrongIssuer:   "the bearer token was issued by an identity provider this service does not trust",
	codeTokenWrongAudience: "the bearer token was issued for another application",
}

// Reasons found by agentClaims.Validate; mapped to codes by agentTokenError.
var (
	errAgentTokenNoSubject     = errors.New("token has no sub")
	errAgentTokenWrongIssuer   = errors.New("token is not from the accepted issuer")
	errAgentTokenWrongAudience = errors.New("token is not for any accepted audience")
)

// AgentVerifierConfig says which tokens an AgentVerifier accepts.
type AgentVerifierConfig struct {
	// JWKSURL is the provider's JWK Set, e.g.
	// https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json.
	JWKSURL string
	// Issuer must equal the token's iss exactly (no trailing-slash normalisation).
	Issuer string
	// Audiences are the accepted aud values. For Cognito access tokens, which carry no aud,
	// they are the accepted app client ids (the client_id claim).
	Audiences []string
	// Leeway absorbs clock skew on exp, nbf and iat. Zero means 30 seconds.
	Leeway time.Duration
	// HTTPClient fetches the JWKS. Nil means a client with a 5-second timeout.
	HTTPClient *http.Client
}

// AgentVerifier verifies agent JWTs. Build it once at Lambda init and share it: it caches the
// provider's keys across invocations. It is safe for concurrent use.
type AgentVerifier struct {
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
	issuer string
	// audiences is shared read-only with every agentClaims the verifier decodes.
	audiences []string
}

// NewAgentVerifier checks cfg and fetches the JWKS once. A provider that cannot be reached
// now does not fail construction — a cold start during a provider hiccup must not crash the
// function — the first verification fetches again. It starts no goroutine: keys are
// refreshed on use, which suits Lambda, where background work is frozen between invocations.
func NewAgentVerifier(ctx context.Context, cfg AgentVerifierConfig) (*AgentVerifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("auth: agent verifier config: %w", err)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = agentJWTDefaultLeeway
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}

	cache := newJWKSCache(cfg.JWKSURL, client)
	if err := cache.fetch(ctx); err != nil {
		slog.WarnContext(ctx, "agent JWKS not fetched at init; will retry on first use",
			"jwksUrl", cfg.JWKSURL, "error", err)
	}
	keys, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: cache})
	if err != nil {
		return nil, fmt.Errorf("auth: agent verifier keys: %w", err)
	}

	return &AgentVerifier{
		keys: keys,
		parser: jwt.NewParser(
			// An explicit list is what stops alg "none" and HS256-signed-with-the-public-key.
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(leeway),
		),
		issuer:    cfg.Issuer,
		audiences: slices.Clone(cfg.Audiences),
	}, nil
}

func (cfg AgentVerifierConfig) validate() error {
	u, err := url.Parse(cfg.JWKSURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("JWKSURL must be an absolute http(s) URL")
	case cfg.Issuer == "":
		return errors.New("issuer is required")
	case len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, ""):
		return errors.New("at least one audience is required, and none may be empty")
	case cfg.Leeway < 0:
		return errors.New("leeway must not be negative")
	}
	return nil
}

// Verify checks a bearer token (the JWT itself, without the "Bearer " scheme) and returns
// the agent it identifies. Every refusal is an *apperror.Error of kind Unauthenticated with
// one of the codes token_missing, token_malformed, token_expired, token_invalid,
// token_wrong_issuer or token_wrong_audience; its cause is for logs and never contains the
// token.
func (v *AgentVerifier) Verify(ctx context.Context, bearer string) (Principal, error) {
	token := strings.TrimSpace(bearer)
	if token == "" {
		return Principal{}, agentTokenRefused(codeTokenMissing, nil)
	}
	if len(token) > agentJWTMaxBytes {
		return Principal{}, agentTokenRefused(codeTokenMalformed, errors.New("token too long"))
	}
	claims := agentClaims{issuer: v.issuer, audiences: v.audiences}
	if _, err := v.parser.ParseWithClaims(token, &claims, v.keys.KeyfuncCtx(ctx)); err != nil {
		return Principal{}, agentTokenError(err)
	}
	return Principal{Kind: Agent, AgentID: claims.Subject}, nil
}

// agentTokenError maps a parse failure to one code. When several things are wrong, the
// most fundamental wins: a token not meant for us is reported as such even if it has also
// expired, so a client does not refresh it in vain.
func agentTokenError(err error) error {
	code := codeTokenInvalid // bad signature, unknown key, wrong alg, nbf/iat in the future, no exp
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		code = codeTokenMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		code = codeTokenInvalid
	case errors.Is(err, errAgentTokenWrongIssuer):
		code = codeTokenWrongIssuer
	case errors.Is(err, errAgentTokenWrongAudience):
		code = codeTokenWrongAudience
	case errors.Is(err, jwt.ErrTokenExpired):
		code = codeTokenExpired
	}
	return agentTokenRefused(code, err)
}

func agentTokenRefused(code string, cause error) error {
	e := apperror.Unauthenticated(code, agentTokenMessages[code])
	if cause != nil {
		e = e.WithCause(cause)
	}
	return e
}

// agentClaims are the claims an agent token is judged on. Cognito access tokens name their
// app client in client_id instead of aud; token_use tells access from ID tokens.
type agentClaims struct {
	jwt.RegisteredClaims
	TokenUse string `json:"token_use,omitempty"`
	ClientID string `json:"client_id,omitempty"`

	// What the verifier accepts; not part of the token.
	issuer    string
	audiences []string
}

// Validate is called by the jwt parser after the registered claims passed, with the
// signature already verified.
func (c *agentClaims) Validate() error {
	var errs []error
	if c.Subject == "" {
		errs = append(errs, errAgentTokenNoSubject)
	}
	// Checked here rather than with jwt.WithIssuer so that a missing iss is reported like a
	// wrong one, as a missing aud is.
	if c.Issuer != c.issuer {
		errs = append(errs, errAgentTokenWrongIssuer)
	}
	if !c.forAcceptedAudience() {
		errs = append(errs, errAgentTokenWrongAudience)
	}
	return errors.Join(errs...)
}

// forAcceptedAudience: aud must name one of ours. Only a token with no aud at all may
// instead name our app client in client_id, and only if it is a Cognito access token: a
// token whose aud names another API was issued for that API, whoever the client was.
func (c *agentClaims) forAcceptedAudience() bool {
	if len(c.Audience) > 0 {
		return slices.ContainsFunc(c.Audience, func(aud string) bool {
			return slices.Contains(c.audiences, aud)
		})
	}
	return c.TokenUse == "access" && c.ClientID != "" && slices.Contains(c.audiences, c.ClientID)
}

// jwksCache is the verifier's copy of the provider's signing keys. It is a jwkset.Storage
// so that keyfunc does the kid and alg matching; it differs from jwkset's HTTP storage in
// what Lambda needs: no background goroutine, a rate limit that refuses instead of making
// the request wait, and fetches that outlive a cancelled request.
type jwksCache struct {
	*jwkset.MemoryJWKSet
	url    string
	client *http.Client

	mu        sync.Mutex // serialises fetches, so concurrent unknown kids cause one
	fetchedAt time.Time  // last successful fetch; zero until one succeeds
	triedAt   time.Time  // last refetch attempt, for the rate limit
}

func newJWKSCache(jwksURL string, client *http.Client) *jwksCache {
	return &jwksCache{MemoryJWKSet: jwkset.NewMemoryStorage(), url: jwksURL, client: client}
}

// KeyRead returns the key with the given kid, refetching the set when it is old or does not
// know the kid (a rotation), within the rate limit.
func (c *jwksCache) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	if c.stale() {
		c.refetch(ctx)
	}
	jwk, err := c.MemoryJWKSet.KeyRead(ctx, kid)
	if errors.Is(err, jwkset.ErrKeyNotFound) && c.refetch(ctx) {
		jwk, err = c.MemoryJWKSet.KeyRead(ctx, kid)
	}
	return jwk, err
}

// KeyReadAll serves tokens without a kid, which are tried against every key.
func (c *jwksCache) KeyReadAll(ctx context.Context) ([]jwkset.JWK, error) {
	if c.stale() {
		c.refetch(ctx)
	}
	return c.MemoryJWKSet.KeyReadAll(ctx)
}

func (c *jwksCache) stale() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetchedAt.IsZero() || time.Since(c.fetchedAt) > jwksMaxAge
}

// refetch fetches the set unless another attempt was made within the rate limit, and
// reports whether the set was replaced. A failed fetch keeps the keys we have: during a
// provider outage, known agents keep working.
func (c *jwksCache) refetch(ctx context.Context) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.triedAt.IsZero() && time.Since(c.triedAt) < jwksMinRefetchInterval {
		return false
	}
	c.triedAt = time.Now()
	if err := c.fetchLocked(ctx); err != nil {
		slog.WarnContext(ctx, "agent JWKS refetch failed; keeping cached keys",
			"jwksUrl", c.url, "error", err)
		return false
	}
	return true
}

// fetch is the first fetch, at construction. It does not count against the rate limit, so
// that if it fails the first verification can try again at once.
func (c *jwksCache) fetch(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetchLocked(ctx)
}

func (c *jwksCache) fetchLocked(ctx context.Context) error {
	// The set serves every later request, so one caller hanging up must not abort it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jwksFetchTimeout)
	defer cancel()
	set, err := c.download(ctx)
	if err != nil {
		return err
	}
	keys := signingKeys(ctx, set)
	if len(keys) == 0 {
		return errors.New("JWKS has no usable RSA or EC signing key")
	}
	if err := c.MemoryJWKSet.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	c.fetchedAt = time.Now()
	return nil
}

func (c *jwksCache) download(ctx context.Context) (jwkset.JWKSMarshal, error) {
	var set jwkset.JWKSMarshal
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return set, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return set, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("JWKS endpoint answered %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&set); err != nil {
		return set, fmt.Errorf("JWKS is not valid JSON: %w", err)
	}
	return set, nil
}

// signingKeys keeps the public RSA and EC signature keys of a set and skips the rest, so one
// odd entry (an encryption key, a curve we do not know) does not lock every agent out.
func signingKeys(ctx context.Context, set jwkset.JWKSMarshal) []jwkset.JWK {
	keys := make([]jwkset.JWK, 0, len(set.Keys))
	for _, m := range set.Keys {
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		// Private: false drops private parts a misconfigured provider might publish.
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			slog.DebugContext(ctx, "skipping unusable JWK", "kid", m.KID, "error", err)
			continue
		}
		switch jwk.Key().(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			keys = append(keys, jwk)
		}
	}
	return keys
}

// BearerToken extracts the token from an Authorization header value. The scheme is matched
// case-insensitively (RFC 7235); surrounding spaces are ignored. It reports false when the
// header is not a Bearer credential or carries no token.
func BearerToken(authorizationHeader string) (string, bool) {
	const scheme = "bearer"
	h := strings.TrimSpace(authorizationHeader)
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	rest := h[len(scheme):]
	if rest[0] != ' ' && rest[0] != '\t' { // "Bearerxyz" is another scheme
		return "", false
	}
	token := strings.TrimSpace(rest)
	return token, token != ""
}
