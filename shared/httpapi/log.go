package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/metrics"
)

// logOutcome writes the one line per request: who (kind only), what, on which conversation,
// how it ended. Bodies, headers and tokens are never logged. The same line carries the
// request's metrics (EMF): a request, a fault (5xx) or a refusal (4xx, by its code: PIN
// failures, rate limits, …) and its latency.
func logOutcome(ctx context.Context, log *slog.Logger, pub metrics.Publisher, action string, r *Request, out events.APIGatewayV2HTTPResponse, err error, took time.Duration) {
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
		switch e.Kind {
		case apperror.KindInternal, apperror.KindUnavailable:
			level = slog.LevelError
		case apperror.KindBusy:
			level = slog.LevelWarn
		}
		if level > slog.LevelInfo && e.Cause != nil {
			attrs = append(attrs, slog.String("cause", e.Cause.Error()))
		}
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	attrs = append(attrs, pub.Attrs(time.Now(), map[string]string{"Outcome": outcome},
		metrics.Metric{Name: "Requests", Unit: metrics.Count, Value: 1},
		// A 503 is a designed refusal under load (apperror.Busy), counted apart so that the
		// Faults alarm stays about our failures.
		metrics.Metric{Name: "Faults", Unit: metrics.Count, Value: b2f(out.StatusCode >= 500 && out.StatusCode != 503)},
		metrics.Metric{Name: "Busy", Unit: metrics.Count, Value: b2f(out.StatusCode == 503)},
		metrics.Metric{Name: "Refusals", Unit: metrics.Count, Value: b2f(out.StatusCode >= 400 && out.StatusCode < 500)},
		metrics.Metric{Name: "Latency", Unit: metrics.Milliseconds, Value: float64(took.Microseconds()) / 1000},
	)...)
	log.LogAttrs(ctx, level, "request", attrs...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
