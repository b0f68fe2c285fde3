package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// Idempotency follows the pattern of AWS Lambda Powertools: before the action runs, a
// record "in progress" is written under the caller's key with a conditional put; the action
// runs only if that write succeeded; its response is then stored as "completed" and every
// retry with the same key gets that stored response without the action running again (no
// second email). A failure of ours (5xx, 502) removes the record so the retry can succeed.

func idempotencyKey(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if len(raw) > 255 {
		return "", apperror.Invalid("invalid_idempotency_key", "Idempotency-Key must be at most 255 characters")
	}
	for _, r := range raw {
		if r < 0x21 || r > 0x7e {
			return "", apperror.Invalid("invalid_idempotency_key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return raw, nil
}

// idempotencyScope keeps keys of different callers and actions apart: one caller's key can
// never replay another caller's response.
func idempotencyScope(action string, r *Request) string {
	p := r.Principal
	who := string(p.Kind) + ":" + p.AgentID + p.ParticipantID
	if p.Kind == "" || (p.AgentID == "" && p.ParticipantID == "") {
		who = "anonymous:" + r.SourceIP
	}
	sum := sha256.Sum256([]byte(who + "\x00" + action + "\x00" + r.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// requestHash fingerprints what the request asks for, so a key reused for a different
// request is refused instead of silently answering with the wrong response.
func requestHash(r *Request) string {
	h := sha256.New()
	params, _ := json.Marshal(r.PathParams)
	h.Write(params)
	h.Write([]byte{0})
	h.Write(r.Body)
	return hex.EncodeToString(h.Sum(nil))
}

func runIdempotent(ctx context.Context, st idempotency.Store, action string, r *Request, act Action, now func() time.Time) (Response, error) {
	scope := idempotencyScope(action, r)
	hash := requestHash(r)
	existing, claimed, err := st.Begin(ctx, scope, hash, idempotency.TTL, idempotency.InProgressTimeout)
	if err != nil {
		return Response{}, apperror.Internal(err)
	}
	if !claimed {
		return replay(existing, hash)
	}
	resp, actErr := act(ctx, r)
	if actErr != nil && notRemembered(apperror.As(actErr).Kind) {
		if err := st.Abandon(context.WithoutCancel(ctx), scope); err != nil {
			return Response{}, apperror.Internal(err)
		}
		return resp, actErr
	}
	stored := toStored(resp, actErr)
	if err := st.Complete(context.WithoutCancel(ctx), scope, stored, idempotency.TTL); err != nil {
		return Response{}, apperror.Internal(err)
	}
	return resp, actErr
}

func replay(rec idempotency.Record, hash string) (Response, error) {
	if rec.RequestHash != hash {
		return Response{}, apperror.New(apperror.KindUnprocessable, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request")
	}
	if !rec.Completed {
		return Response{}, apperror.Conflict("idempotency_in_progress",
			"a request with this Idempotency-Key is still being processed; retry shortly")
	}
	headers := map[string]string{"Idempotency-Replayed": "true"}
	for k, v := range rec.Response.Headers {
		headers[k] = v
	}
	var body any
	if len(rec.Response.Body) > 0 {
		body = rec.Response.Body
	}
	return Response{Status: rec.Response.Status, Body: body, Headers: headers}, nil
}

// toStored keeps the answer a retry must see again. Client errors are remembered too: the
// same request would fail the same way.
func toStored(resp Response, actErr error) idempotency.Response {
	out := encode(resp)
	if actErr != nil {
		out = errorResponse(apperror.As(actErr))
	}
	headers := map[string]string{}
	for k, v := range out.Headers {
		if k != "Content-Type" && k != "Cache-Control" {
			headers[k] = v
		}
	}
	var body json.RawMessage
	if out.Body != "" {
		body = json.RawMessage(out.Body)
	}
	return idempotency.Response{Status: out.StatusCode, Body: body, Headers: headers}
}

// notRemembered: answers a retry must not replay. Our failures may pass on retry, and a 429
// ends with its window — replaying it would refuse the caller after the limit has reset.
func notRemembered(k apperror.Kind) bool {
	return k.Retryable() || k == apperror.KindRateLimited
}
