package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// logOutcome writes the one line per request: who (kind only), what, on which conversation,
// how it ended. Bodies, headers and tokens are never logged.
func logOutcome(ctx context.Context, log *slog.Logger, action string, r *Request, out events.APIGatewayV2HTTPResponse, err error, took time.Duration) {
	attrs := []slog.Attr{
		slog.String("action", action),
		slog.Int("status", out.StatusCode),
		slog.Duration("duration", took),
	}
	if r != nil {
		attrs = append(attrs, slog.String("requestId", r.RequestID), slog.String("caller", string(r.Principal.Kind)))
		if r.ConversationID != "" {
			attrs = append(attrs, slog.String("conversationId", r.ConversationID))
		}
	}
	level := slog.LevelInfo
	outcome := "ok"
	if err != nil {
		e := apperror.As(err)
		outcome = e.Code
		if e.Kind == apperror.KindInternal || e.Kind == apperror.KindUnavailable {
			level = slog.LevelError
			if e.Cause != nil {
				attrs = append(attrs, slog.String("cause", e.Cause.Error()))
			}
		}
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	log.LogAttrs(ctx, level, "request", attrs...)
}
