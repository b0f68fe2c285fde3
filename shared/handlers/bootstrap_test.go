package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// TestBootstrap_RunsUnderTheLambdaRuntimeEmulator builds a real function binary the way
// `make build` does (lambda.norpc, static) for this machine, runs it under Amazon's Lambda
// Runtime Interface Emulator, and invokes it with its sample event: main's wiring, config
// from the environment and the runtime loop all work, not only the handler.
func TestBootstrap_RunsUnderTheLambdaRuntimeEmulator(t *testing.T) {
	rie := findRIE(t)
	root, err := samtemplate.FindRepoFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	root = filepath.Dir(root)
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./functions/start-conversation")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	invokeAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-api-address", runtimeAddr, "--runtime-interface-emulator-address", invokeAddr, bin)
	cmd.Env = append(os.Environ(),
		"TABLE_NAME="+testenv.NewTable(t),
		"AWS_ENDPOINT_URL_DYNAMODB="+testenv.DynamoDBEndpoint(t),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"DEFAULT_TEAM_ID=", "SESSION_TTL_HOURS=2", "LOG_LEVEL=info", "PIN_HMAC_SECRET=rie-test-secret-0123456789abcdef0123456789abcdef")
	logs := &apitest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})

	sample, err := os.ReadFile(filepath.Join(root, "events", "start-conversation.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp := invokeRIE(t, invokeAddr, sample, logs)
	if resp.StatusCode != 201 {
		t.Fatalf("bootstrap answered %d %s\nlogs:\n%s", resp.StatusCode, resp.Body, logs.String())
	}
	var started struct{ ConversationID, SessionToken string }
	if err := json.Unmarshal([]byte(resp.Body), &started); err != nil || started.ConversationID == "" || started.SessionToken == "" {
		t.Fatalf("unexpected body %s", resp.Body)
	}
}

// findRIE builds the emulator pinned by go.mod's tool directive (cached after the first
// build) and returns its path: never a binary that happens to be on PATH or in $GOPATH/bin.
func findRIE(t *testing.T) string {
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		t.Fatalf("go tool -n aws-lambda-rie: %v (go.mod pins it as a tool directive)", err)
	}
	return string(bytes.TrimSpace(out))
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type rieResponse struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

// invokeRIE posts the event until the emulator is up (it starts in well under a second,
// but is polled rather than waited for).
func invokeRIE(t *testing.T, addr string, event []byte, logs fmt.Stringer) rieResponse {
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Post(url, "application/json", bytes.NewReader(event))
		if err == nil {
			defer res.Body.Close()
			var out rieResponse
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				t.Fatalf("decode RIE answer: %v\nlogs:\n%s", err, logs)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator never answered: %v\nlogs:\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
