package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// memory is the least Store that keeps what it is given, to look at what would rest in the
// table.
type memory struct{ records map[string]idempotency.Record }

func (m *memory) Begin(_ context.Context, c *idempotency.Claim, hash string, _, _ time.Duration) (idempotency.Record, bool, error) {
	scope := c.Scope
	if r, ok := m.records[scope]; ok {
		return r, false, nil
	}
	m.records[scope] = idempotency.Record{RequestHash: hash}
	return idempotency.Record{}, true, nil
}

func (m *memory) Complete(_ context.Context, c *idempotency.Claim, resp idempotency.Response, _ time.Duration) error {
	scope := c.Scope
	r := m.records[scope]
	r.Completed, r.Response = true, resp
	m.records[scope] = r
	return nil
}

func (m *memory) Abandon(_ context.Context, c *idempotency.Claim) error {
	delete(m.records, c.Scope)
	return nil
}

func (m *memory) Lookup(_ context.Context, scope string) (idempotency.Record, bool, error) {
	r, ok := m.records[scope]
	return r, ok, nil
}

func (m *memory) Finish(ctx context.Context, held idempotency.Commit, rec idempotency.Completion) error {
	if _, ok := m.records[rec.Scope]; ok {
		return idempotency.ErrKeyTaken
	}
	m.records[rec.Scope] = idempotency.Record{RequestHash: rec.RequestHash, Completed: true, Response: rec.Response}
	if held != nil {
		return held(ctx, rec)
	}
	return nil
}

// An answer written with a speculation's transaction rests sealed too, and opens on lookup.
func TestSealed_AnswersFinishedInTheTransactionRestEncrypted(t *testing.T) {
	ctx := context.Background()
	inner := &memory{records: map[string]idempotency.Record{}}
	st, err := idempotency.Sealed(inner, []byte(strings.Repeat("s", 64)))
	if err != nil {
		t.Fatal(err)
	}
	body := json.RawMessage(`{"sessionToken":"vs_secret"}`)
	var sent []byte
	held := func(_ context.Context, rec idempotency.Completion) error { sent = rec.Response.Body; return nil }
	if err := st.Finish(ctx, held, idempotency.Completion{Scope: "scope-a", RequestHash: "h", Response: idempotency.Response{Status: 201, Body: body}}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sent, []byte("vs_secret")) || bytes.Contains(inner.records["scope-a"].Response.Body, []byte("vs_secret")) {
		t.Fatalf("written in the clear: %s", sent)
	}
	rec, found, err := st.Lookup(ctx, "scope-a")
	if err != nil || !found || !bytes.Equal(rec.Response.Body, body) {
		t.Fatalf("lookup: %s, %v, %v", rec.Response.Body, found, err)
	}
	inner.records["scope-b"] = inner.records["scope-a"]
	if _, _, err := st.Lookup(ctx, "scope-b"); err == nil {
		t.Fatal("a sealed answer opened under another scope")
	}
}

func TestSealed_ResponsesRestEncryptedAndReplayDecrypted(t *testing.T) {
	ctx := context.Background()
	inner := &memory{records: map[string]idempotency.Record{}}
	secret := []byte(strings.Repeat("s", 64))
	st, err := idempotency.Sealed(inner, secret)
	if err != nil {
		t.Fatal(err)
	}
	body := json.RawMessage(`{"pin":"123456789"}`)
	if _, claimed, _ := st.Begin(ctx, idempotency.NewClaim("scope-a"), "h", time.Hour, time.Minute); !claimed {
		t.Fatal("first Begin did not claim")
	}
	if err := st.Complete(ctx, idempotency.NewClaim("scope-a"), idempotency.Response{Status: 201, Body: body}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if stored := inner.records["scope-a"].Response.Body; bytes.Contains(stored, []byte("123456789")) || !json.Valid(stored) {
		t.Fatalf("at rest: %s", stored)
	}
	rec, claimed, err := st.Begin(ctx, idempotency.NewClaim("scope-a"), "h", time.Hour, time.Minute)
	if err != nil || claimed || !bytes.Equal(rec.Response.Body, body) {
		t.Fatalf("replay: %s, %v, %v", rec.Response.Body, claimed, err)
	}

	// A sealed answer moved under another key does not open, nor under another secret.
	inner.records["scope-b"] = inner.records["scope-a"]
	if _, _, err := st.Begin(ctx, idempotency.NewClaim("scope-b"), "h", time.Hour, time.Minute); err == nil {
		t.Fatal("a sealed answer opened under another scope")
	}
	other, _ := idempotency.Sealed(inner, []byte(strings.Repeat("t", 64)))
	if _, _, err := other.Begin(ctx, idempotency.NewClaim("scope-a"), "h", time.Hour, time.Minute); err == nil {
		t.Fatal("a sealed answer opened with another secret")
	}
	if _, err := idempotency.Sealed(inner, []byte("short")); err == nil {
		t.Fatal("a short secret was accepted")
	}
}
