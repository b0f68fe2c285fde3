package idempotency

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sealed wraps a Store so that the responses it keeps are encrypted with AES-256-GCM under a
// key derived from the deployment secret. Some answers carry a secret that must never rest in
// the table in the clear: a new PIN (stored only as its HMAC), a visitor session token
// (stored only as its SHA-256). A retry still gets the first answer, decrypted.
func Sealed(inner Store, deploymentSecret []byte) (Store, error) {
	if len(deploymentSecret) < 32 {
		return nil, errors.New("idempotency: the deployment secret must be at least 32 bytes")
	}
	mac := hmac.New(sha256.New, deploymentSecret)
	mac.Write([]byte("invite-forward/idempotency-seal/v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return sealed{inner: inner, aead: aead}, nil
}

type sealed struct {
	inner Store
	aead  cipher.AEAD
}

// sealedBody is what a sealed response body looks like at rest: one JSON string.
type sealedBody struct {
	Sealed string `json:"sealed"`
}

func (s sealed) Begin(ctx context.Context, c *Claim, requestHash string, ttl, inProgress time.Duration) (Record, bool, error) {
	rec, claimed, err := s.inner.Begin(ctx, c, requestHash, ttl, inProgress)
	if err != nil || claimed || !rec.Completed || len(rec.Response.Body) == 0 {
		return rec, claimed, err
	}
	body, err := s.open(c.Scope, rec.Response.Body)
	if err != nil {
		return Record{}, false, err
	}
	rec.Response.Body = body
	return rec, false, nil
}

func (s sealed) Complete(ctx context.Context, c *Claim, resp Response, ttl time.Duration) error {
	resp, err := AtRest(s, c.Scope, resp)
	if err != nil {
		return err
	}
	return s.inner.Complete(ctx, c, resp, ttl)
}

func (s sealed) Abandon(ctx context.Context, c *Claim) error { return s.inner.Abandon(ctx, c) }

func (s sealed) Lookup(ctx context.Context, scope string) (Record, bool, error) {
	rec, found, err := s.inner.Lookup(ctx, scope)
	if err != nil || !found || !rec.Completed || len(rec.Response.Body) == 0 {
		return rec, found, err
	}
	body, err := s.open(scope, rec.Response.Body)
	if err != nil {
		return Record{}, false, err
	}
	rec.Response.Body = body
	return rec, true, nil
}

func (s sealed) Finish(ctx context.Context, held Commit, rec Completion) error {
	var err error
	if rec.Response, err = AtRest(s, rec.Scope, rec.Response); err != nil {
		return err
	}
	return s.inner.Finish(ctx, held, rec)
}

// seal encrypts the body, bound to its scope: a sealed body copied under another key does
// not open.
func (s sealed) seal(scope string, body []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct := s.aead.Seal(nonce, nonce, body, []byte(scope))
	return json.Marshal(sealedBody{Sealed: base64.RawStdEncoding.EncodeToString(ct)})
}

func (s sealed) open(scope string, stored []byte) ([]byte, error) {
	var b sealedBody
	if err := json.Unmarshal(stored, &b); err != nil || b.Sealed == "" {
		return nil, errors.New("idempotency: stored response is not sealed")
	}
	ct, err := base64.RawStdEncoding.DecodeString(b.Sealed)
	if err != nil || len(ct) < s.aead.NonceSize() {
		return nil, errors.New("idempotency: stored response is damaged")
	}
	body, err := s.aead.Open(nil, ct[:s.aead.NonceSize()], ct[s.aead.NonceSize():], []byte(scope))
	if err != nil {
		return nil, fmt.Errorf("idempotency: open stored response: %w", err)
	}
	return body, nil
}
