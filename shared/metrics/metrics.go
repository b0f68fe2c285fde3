// Package metrics publishes CloudWatch metrics in the Embedded Metric Format (EMF): a JSON log
// line that carries an "_aws" block is turned into metrics by CloudWatch Logs itself, so the
// functions need no agent, no client and no extra call — the slog line they write anyway is
// the metric. Dimension values and metric values sit at the line's top level, as EMF requires.
package metrics

import (
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"
)

// Publisher adds metrics to log lines. Its zero value (no namespace) adds nothing: locally
// and in tests without METRICS_NAMESPACE the logs stay as they are.
type Publisher struct {
	Namespace string // METRICS_NAMESPACE, from the template
	Function  string // AWS_LAMBDA_FUNCTION_NAME, set by Lambda: every metric's FunctionName
}

// FromEnv is the publisher of a function, configured by the template and Lambda.
func FromEnv() Publisher {
	return Publisher{Namespace: os.Getenv("METRICS_NAMESPACE"), Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}
}

// Units CloudWatch knows.
const (
	Count        = "Count"
	Milliseconds = "Milliseconds"
)

// Metric is one value of a line.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// Attrs returns what makes a log line an EMF record of ms: each metric under FunctionName,
// and also under FunctionName plus each extra dimension (e.g. Outcome), so an alarm can watch
// a function and a dashboard can split it by outcome.
func (p Publisher) Attrs(at time.Time, extra map[string]string, ms ...Metric) []slog.Attr {
	if p.Namespace == "" || len(ms) == 0 {
		return nil
	}
	function := p.Function
	if function == "" {
		function = "local"
	}
	dims := [][]string{{"FunctionName"}}
	attrs := []slog.Attr{slog.String("FunctionName", function)}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		dims = append(dims, []string{"FunctionName", name})
		attrs = append(attrs, slog.String(name, extra[name]))
	}
	defs := make([]metricDef, len(ms))
	for i, m := range ms {
		defs[i] = metricDef{Name: m.Name, Unit: m.Unit}
		attrs = append(attrs, slog.Float64(m.Name, m.Value))
	}
	meta := slog.Group("_aws",
		slog.Int64("Timestamp", at.UnixMilli()),
		slog.Any("CloudWatchMetrics", []directive{{Namespace: p.Namespace, Dimensions: dims, Metrics: defs}}))
	return append(attrs, meta)
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}
