package httpapi

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries the stable code clients switch on and a human message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Status maps an error kind to its HTTP status (SPEC §4).
func Status(k apperror.Kind) int {
	switch k {
	case apperror.KindInvalid:
		return 400
	case apperror.KindUnauthenticated:
		return 401
	case apperror.KindForbidden:
		return 403
	case apperror.KindNotFound:
		return 404
	case apperror.KindConflict:
		return 409
	case apperror.KindGone:
		return 410
	case apperror.KindTooLarge:
		return 413
	case apperror.KindUnprocessable:
		return 422
	case apperror.KindRateLimited:
		return 429
	case apperror.KindUnavailable:
		return 502
	case apperror.KindBusy:
		return 503
	default:
		return 500
	}
}

func errorResponse(e *apperror.Error) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
	if e.Kind == apperror.KindRateLimited || e.Kind == apperror.KindBusy || e.RetryAfter > 0 {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		headers["Retry-After"] = strconv.Itoa(secs)
	}
	if e.Kind == apperror.KindUnauthenticated {
		headers["WWW-Authenticate"] = `Bearer realm="invite-forward"`
	}
	// The message is ours, never a cause's text: internals stay in the logs.
	b, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message}})
	return events.APIGatewayV2HTTPResponse{StatusCode: Status(e.Kind), Headers: headers, Body: string(b)}
}
