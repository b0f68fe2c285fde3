// Package devkeys is a stand-in identity provider for LOCAL DEVELOPMENT AND TESTS ONLY.
//
// NEVER DEPLOY IT. NEVER IMPORT IT FROM functions/. Whoever holds these keys can sign in as
// any agent. A test in this package fails if a function imports it.
//
// `make dev` has no Cognito. The local gateway uses this package instead: it keeps one
// ECDSA P-256 key in a file (so tokens survive restarts), serves the public half as the
// JWKS that auth.AgentVerifier trusts, and mints agent tokens for the demo page. Deployed
// functions verify tokens against the real provider's JWKS and never see this package.
package devkeys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const (
	pemType      = "PRIVATE KEY" // PKCS #8
	pemKIDHeader = "Kid"         // the kid travels with the key, so it too survives restarts
)

// Keys is a development signing key and its key id.
type Keys struct {
	kid     string
	private *ecdsa.PrivateKey
	jwks    []byte // public JWKS, computed once
}

// Generate makes a new P-256 key with a random kid.
func Generate() (*Keys, error) {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devkeys: generate key: %w", err)
	}
	return newKeys(randomKID(), private)
}

// randomKID is recognisable in logs as a development key.
func randomKID() string {
	return "dev-" + rand.Text()
}

func newKeys(kid string, private *ecdsa.PrivateKey) (*Keys, error) {
	if private.Curve != elliptic.P256() {
		return nil, errors.New("devkeys: key is not on P-256")
	}
	jwk, err := jwkset.NewJWKFromKey(&private.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.AlgES256, USE: jwkset.UseSig},
	})
	if err != nil {
		return nil, fmt.Errorf("devkeys: JWK: %w", err)
	}
	jwks, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		return nil, fmt.Errorf("devkeys: JWKS: %w", err)
	}
	return &Keys{kid: kid, private: private, jwks: jwks}, nil
}

// LoadOrCreate reads the key at path, or generates one and writes it there (mode 0600) if
// the file does not exist, so that agent tokens minted before a restart stay valid after it.
func LoadOrCreate(path string) (*Keys, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = Generate(); err != nil {
		return nil, err
	}
	err = create(path, k)
	if errors.Is(err, fs.ErrExist) {
		// Another process started at the same moment and won; use its key so we agree.
		return load(path)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

func load(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemType || block.Headers[pemKIDHeader] == "" {
		return nil, fmt.Errorf("devkeys: %s is not a dev key file; delete it to get a new key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devkeys: %s: %w; delete it to get a new key", path, err)
	}
	private, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("devkeys: %s does not hold an ECDSA key; delete it to get a new key", path)
	}
	return newKeys(block.Headers[pemKIDHeader], private)
}

// create writes k to a new file at path; it never overwrites, and nobody ever reads a
// half-written file: the key is written whole to a temporary file beside it, then linked to
// path, which is atomic and fails if path already exists (another process won the race).
func create(path string, k *Keys) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.private)
	if err != nil {
		return fmt.Errorf("devkeys: encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("devkeys: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".dev-key-*")
	if err != nil {
		return fmt.Errorf("devkeys: %w", err)
	}
	defer os.Remove(f.Name())
	err = pem.Encode(f, &pem.Block{Type: pemType, Headers: map[string]string{pemKIDHeader: k.kid}, Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("devkeys: write %s: %w", f.Name(), err)
	}
	return os.Link(f.Name(), path) // fs.ErrExist is handled by the caller
}

// KeyID is the kid that tokens carry and the JWKS lists.
func (k *Keys) KeyID() string { return k.kid }

// JWKS is the public JWK Set, as JSON. It holds no private material.
func (k *Keys) JWKS() []byte { return append([]byte(nil), k.jwks...) }

// Handler serves JWKS() to GET and HEAD, as a provider's jwks.json endpoint does.
func (k *Keys) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// A developer who deletes the key file must not be served the old key by a cache.
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(k.jwks)
	})
}

// Mint signs an agent token (ES256, with kid) for agentID, valid from now for ttl.
func (k *Keys) Mint(agentID, issuer, audience string, ttl time.Duration) (string, error) {
	if agentID == "" || issuer == "" || audience == "" {
		return "", errors.New("devkeys: agent id, issuer and audience are required")
	}
	if ttl <= 0 {
		return "", errors.New("devkeys: ttl must be positive")
	}
	now := time.Now()
	token := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Subject:   agentID,
		Issuer:    issuer,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	})
	token.Header["kid"] = k.kid
	signed, err := token.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("devkeys: sign: %w", err)
	}
	return signed, nil
}

// Sign signs arbitrary claims with the key (ES256, with kid): tests use it to make tokens
// that are expired, not yet valid or otherwise wrong in ways Mint refuses to produce.
func (k *Keys) Sign(claims jwt.MapClaims) (string, error) {
	token := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	token.Header["kid"] = k.kid
	signed, err := token.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("devkeys: sign: %w", err)
	}
	return signed, nil
}
