package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// emfLine is what CloudWatch reads from a log line in the Embedded Metric Format.
type emfLine struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	FunctionName, Outcome                     string
	Requests, Faults, Busy, Refusals, Latency *float64
}

// TestHandle_EveryRequestLineIsAnEMFRecord: with METRICS_NAMESPACE set (the template sets it),
// the one log line of a request is also its metrics — requests, faults (what the 5xx alarm
// watches), busy answers (503s: load, not our failure), refusals by code, latency — under the
// function's name.
func TestHandle_EveryRequestLineIsAnEMFRecord(t *testing.T) {
	t.Setenv("METRICS_NAMESPACE", "InviteForward/test")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "invite-forward-RedeemPinFunction-1")
	for _, tc := range []struct {
		err                    error
		faults, busy, refusals float64
		outcome                string
	}{
		{nil, 0, 0, 0, "ok"},
		{apperror.Invalid("pin_invalid", "no"), 0, 0, 1, "pin_invalid"},
		{apperror.RateLimited("rate_limited", "later", 0), 0, 0, 1, "rate_limited"},
		{errors.New("the table is gone"), 1, 0, 0, "internal"},
		{apperror.Internal(apperror.Busy("service_busy", "later", time.Second)), 0, 1, 0, "service_busy"},
	} {
		var buf strings.Builder
		h := Handle("redeem_pin", slog.New(slog.NewJSONHandler(&buf, nil)), func(context.Context, *Request) (Response, error) {
			return OK(map[string]string{}), tc.err
		}, AllowAnonymous())
		if _, err := h(context.Background(), events.APIGatewayV2HTTPRequest{}); err != nil {
			t.Fatal(err)
		}
		var line emfLine
		if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, buf.String())
		}
		if len(line.AWS.CloudWatchMetrics) != 1 || line.AWS.Timestamp == 0 {
			t.Fatalf("%s: no EMF metadata: %s", tc.outcome, buf.String())
		}
		d := line.AWS.CloudWatchMetrics[0]
		var names []string
		for _, m := range d.Metrics {
			names = append(names, m.Name)
		}
		if d.Namespace != "InviteForward/test" || !slices.Equal(names, []string{"Requests", "Faults", "Busy", "Refusals", "Latency"}) ||
			!slices.ContainsFunc(d.Dimensions, func(ds []string) bool { return slices.Equal(ds, []string{"FunctionName"}) }) {
			t.Errorf("%s: directive %+v", tc.outcome, d)
		}
		if line.FunctionName != "invite-forward-RedeemPinFunction-1" || line.Outcome != tc.outcome || line.Requests == nil || *line.Requests != 1 ||
			line.Faults == nil || *line.Faults != tc.faults || line.Busy == nil || *line.Busy != tc.busy || line.Refusals == nil || *line.Refusals != tc.refusals || line.Latency == nil {
			t.Errorf("%s: values %s", tc.outcome, buf.String())
		}
	}
}

// TestHandle_NoNamespaceNoMetrics: locally and in tests the lines stay plain logs.
func TestHandle_NoNamespaceNoMetrics(t *testing.T) {
	t.Setenv("METRICS_NAMESPACE", "")
	var buf strings.Builder
	h := Handle("x", slog.New(slog.NewJSONHandler(&buf, nil)), func(context.Context, *Request) (Response, error) { return OK(nil), nil }, AllowAnonymous())
	_, _ = h(context.Background(), events.APIGatewayV2HTTPRequest{})
	if strings.Contains(buf.String(), "_aws") {
		t.Errorf("metrics without a namespace: %s", buf.String())
	}
}
