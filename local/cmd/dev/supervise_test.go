package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

// TestSupervise_ADeadEmulatorComesBackOnItsPortWithTheSeed: make dev does not die with an
// emulator. DynamoDB Local killed under it is started again on the same port, with the table
// and the seed back; an emulator that keeps dying ends make dev with its last output.
func TestSupervise_ADeadEmulatorComesBackOnItsPortWithTheSeed(t *testing.T) {
	repo, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(filepath.Join(repo, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pins, err := invitation.NewPINKey([]byte("supervise-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	opts := emulators.Options{LocalDir: filepath.Join(repo, "local")}
	emus, err := emulators.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer emus.Stop()
	stack := &localStack{emus: emus, opts: opts, restarts: map[string]int{},
		prepare: func(ctx context.Context, endpoint string) error {
			_, err := prepareTable(ctx, tmpl, endpoint, "supervised", filepath.Join(repo, "local", "seed.json"), pins)
			return err
		}}
	if err := stack.prepare(t.Context(), emus.DynamoDB.Endpoint); err != nil {
		t.Fatal(err)
	}
	ddb, ses, dynamo := emus.DynamoDB.Endpoint, emus.SES.Endpoint, emus.DynamoDB
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- stack.supervise(ctx, nil) }()

	dynamo.Stop()
	st := store.New(awsclients.DynamoDBAt(awsconfig.Static(region), ddb), "supervised")
	eventually(t, "the table seeded again at "+ddb, func() bool {
		_, err := st.ConnectionByID(t.Context(), devdata.SampleConnectionID) // the sample written last
		return err == nil
	})
	if _, err := st.Agent(t.Context(), "ada"); err != nil {
		t.Errorf("the directory after the restart: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("supervise after a restart and Ctrl-C: %v", err)
	}

	// The SES emulator at its restart limit: the next death ends make dev, loudly.
	stack.restarts["SES emulator"] = maxRestarts
	go func() { done <- stack.supervise(t.Context(), nil) }()
	stack.emus.SES.Stop()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "SES emulator exited again") {
			t.Fatalf("supervise = %v, want the SES emulator's end", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("supervise went on after the restart limit")
	}
	if resp, err := http.Get(ses + "/health-check"); err == nil {
		resp.Body.Close()
		t.Error("the SES emulator answers after giving up on it")
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within a minute: %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
