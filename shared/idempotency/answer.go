package idempotency

import "context"

// An action that must take the long way (Begin, the action, Complete) because it does more
// than one write — it takes a rate-limit slot before its commit, or sends an email between two
// commits — can still spare the Complete: when it knows its answer before its last commit, that
// commit records the answer under the key beside the claim's mark (SPEC §5, #13). The answer is
// then written exactly when the action's effect is, and a retry finds it.
//
// The route declares how a result becomes its answer (httpapi.AnswersAhead), which puts an
// answerer in the attempt's context; the action names its last commit's result with Answering.
// If that commit fails, nothing of it was written, the answer included, and the action answers
// as it would have; httpapi completes the key the usual way whenever the commit did not carry
// the answer.

// answerer turns an action's result into its answer as the key keeps it.
type answerer func(result any) (Response, error)

type answererKey struct{}

type answerKey struct{}

// WithAnswerer lets the attempt's commits carry its answer: answer shapes a result as the
// route answers it, and the store the key lives in (st) decides how it rests (AtRest).
func WithAnswerer(ctx context.Context, st Store, scope string, answer func(result any) Response) context.Context {
	return context.WithValue(ctx, answererKey{}, answerer(func(result any) (Response, error) {
		return AtRest(st, scope, answer(result))
	}))
}

// Answering returns ctx for the action's last commit, which then records result as the
// request's answer. Outside an attempt that can (no claim, or a route without an answerer) it
// returns ctx unchanged, and the answer is recorded after the action as usual.
func Answering(ctx context.Context, result any) context.Context {
	shape, ok := ctx.Value(answererKey{}).(answerer)
	if !ok || ClaimFrom(ctx) == nil {
		return ctx
	}
	resp, err := shape(result)
	if err != nil {
		return ctx // recorded by Complete instead, where the error surfaces
	}
	return context.WithValue(ctx, answerKey{}, &resp)
}

// AnswerFrom returns the answer a commit made with ctx records under its claim's key, or nil.
func AnswerFrom(ctx context.Context) *Response {
	resp, _ := ctx.Value(answerKey{}).(*Response)
	return resp
}

// AtRest is resp as st keeps it: a Sealed store's body encrypted, anything else as it is.
func AtRest(st Store, scope string, resp Response) (Response, error) {
	s, ok := st.(sealed)
	if !ok || len(resp.Body) == 0 {
		return resp, nil
	}
	body, err := s.seal(scope, resp.Body)
	if err != nil {
		return Response{}, err
	}
	resp.Body = body
	return resp, nil
}
