package gateway

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

func TestSchedulesOf_ReadsRateSchedules(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  SweepFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Sweep: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
  HourlyFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(2 hours)}}
  CronFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: "cron(0 12 * * ? *)"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := schedulesOf(tpl, slog.New(slog.NewTextHandler(io.Discard, nil)))
	want := map[string]time.Duration{"SweepFunction": time.Minute, "HourlyFunction": 2 * time.Hour}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for _, s := range got {
		if want[s.function] != s.every {
			t.Errorf("%s every %s, want %s", s.function, s.every, want[s.function])
		}
	}
}
