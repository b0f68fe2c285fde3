package sampleevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// designed is the answer each sample event is meant to get against a freshly seeded stack:
// an HTTP status, or for the functions that are not HTTP routes, what their answer must hold.
var designed = map[string]string{
	"AcceptInvitationFunction":      "200", // ada accepts grace's invitation inv_sample_for_ada
	"AdmitParticipantFunction":      "200", // ada lets Lou, waiting in conv_sample's lobby, in
	"CreateConnectTicketFunction":   "201",
	"CreateEmailInvitationFunction": "201", // the mail lands in the SES emulator
	"CreatePinInvitationFunction":   "201",
	"DeclineInvitationFunction":     "204",                    // ada declines inv_sample_for_ada with a reason
	"EmailDeliveryFunction":         `"outcomes":["applied"]`, // SES delivered inv_sample's email
	"EndConversationFunction":       "204",
	"EndCleanupFunction":            `"batchItemFailures":[]`, // conv_sample's conversation.ended: open in the seeded stack, so nothing to clean up
	"ExpireInvitationsFunction":     `"failed":0`,             // the sweep's tally: nothing failed
	"ForwardConversationFunction":   "201",
	"GetConversationFunction":       "200",
	"GetInboxFunction":              "200",
	"HttpAuthorizerFunction":        `"kind":"anonymous"`, // an anonymous route's caller, passed on
	"InviteAgentFunction":           "201",
	"InviteTeamFunction":            "201",
	"LeaveConversationFunction":     "204",
	"ListAgentsFunction":            "200",
	"PushEventsFunction":            `"batchItemFailures":[]`, // a message of conv_sample pushed to ada's sample connection
	"ListEventsFunction":            "200",
	"ListInvitationsFunction":       "200",
	"ListTeamsFunction":             "200",
	"PostMessageFunction":           "201",
	"RedeemJoinTokenFunction":       "201", // Carl joins conv_sample with the sample link
	"RedeemPinFunction":             "201", // Carl joins conv_sample with PIN 123456789
	"RefuseParticipantFunction":     "204", // ada turns Rex, waiting in conv_sample's lobby, away
	"ResendInvitationFunction":      "200",
	"RevokeInvitationFunction":      "200",
	"StartConversationFunction":     "201",
	"WsAuthorizerFunction":          `"Effect":"Allow"`, // the sample ticket opens ada's socket
	"WsConnectFunction":             "200",
	"WsDefaultFunction":             "200",
	"WsDisconnectFunction":          "200",
}

// TestSampleEvents_GetTheirDesignedAnswerUnderTheRuntimeEmulator runs each function's real
// bootstrap the way `sam local invoke <Fn> -e events/<fn>.json --env-vars local/sam-env.json`
// does: only the variables the template declares for it, with the env-vars file's values
// (its container addresses mapped to this test's emulators), against a table seeded as
// `make dev` seeds it.
func TestSampleEvents_GetTheirDesignedAnswerUnderTheRuntimeEmulator(t *testing.T) {
	root := repoRoot(t)
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	samEnv, err := devdata.SamEnv(filepath.Join(root, "local", "sam-env.json"))
	if err != nil {
		t.Fatal(err)
	}
	fns := tmpl.Functions()
	bins := buildAll(t, root, fns)
	rie := findRIE(t)
	hosts := containerHosts(t, samEnv)

	for _, fn := range fns {
		want, ok := designed[fn.LogicalID]
		if !ok {
			t.Errorf("%s has no designed answer for its sample event: add it to this test", fn.LogicalID)
			continue
		}
		t.Run(fn.LogicalID, func(t *testing.T) {
			t.Parallel()
			table := seededTable(t, root, samEnv["PIN_HMAC_SECRET"])
			env, err := samLocalEnv(tmpl, fn, samEnv, hosts, table)
			if err != nil {
				t.Fatal(err)
			}
			event, err := os.ReadFile(filepath.Join(root, "events", filepath.Base(samtemplate.FolderFor(fn.LogicalID))+".json"))
			if err != nil {
				t.Fatal(err)
			}
			answer, logs := invokeUnderRIE(t, rie, bins[fn.LogicalID], env, event)
			checkDesigned(t, want, answer, logs)
		})
	}
}

func checkDesigned(t *testing.T, want string, answer []byte, logs fmt.Stringer) {
	t.Helper()
	var http struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	switch {
	case strings.HasPrefix(want, `"`):
		if !bytes.Contains(answer, []byte(want)) {
			t.Fatalf("answer %s does not hold %s\nlogs:\n%s", answer, want, logs)
		}
	default:
		if err := json.Unmarshal(answer, &http); err != nil || fmt.Sprint(http.StatusCode) != want {
			t.Fatalf("answer %s, want status %s\nlogs:\n%s", answer, want, logs)
		}
	}
}

func repoRoot(t *testing.T) string {
	path, err := samtemplate.FindRepoFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(path)
}

// buildAll builds every function as `make build` does (lambda.norpc, static, trimmed), for
// this machine's architecture so the emulator can run it, two at a time.
func buildAll(t *testing.T, root string, fns []samtemplate.Function) map[string]string {
	dir := t.TempDir()
	bins := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(fns))
	slots := make(chan struct{}, 2)
	for _, fn := range fns {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			bin := filepath.Join(dir, fn.LogicalID, "bootstrap")
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./"+samtemplate.FolderFor(fn.LogicalID))
			build.Dir = root
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if out, err := build.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("build %s: %v\n%s", fn.LogicalID, err, out)
				return
			}
			mu.Lock()
			bins[fn.LogicalID] = bin
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return bins
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

// containerHosts maps each address the env-vars file gives a container (host.docker.internal
// and a port) to where this test serves it: the emulators, and for the gateway's ports a
// server that answers @connections posts and serves no JWKS (no sample event carries a JWT).
func containerHosts(t *testing.T, samEnv map[string]string) map[string]string {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/@connections/") {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(stub.Close)
	hosts := map[string]string{
		"http://host.docker.internal:8000": testenv.DynamoDBEndpoint(t),
		"http://host.docker.internal:8005": testenv.SESEndpoint(t),
		"http://host.docker.internal:4000": stub.URL,
		"http://host.docker.internal:4001": stub.URL,
	}
	for name, value := range samEnv {
		u, err := url.Parse(value)
		if err != nil || u.Host == "" || !strings.HasPrefix(u.Host, "host.docker.internal") {
			continue
		}
		if _, ok := hosts[u.Scheme+"://"+u.Host]; !ok {
			t.Fatalf("local/sam-env.json: %s points at %s, which make dev does not serve", name, u.Host)
		}
	}
	return hosts
}

// seededTable is a fresh table holding what `make dev` seeds: the directory and the samples.
func seededTable(t *testing.T, root, pinSecret string) string {
	table := testenv.NewTable(t)
	st := store.New(testenv.DynamoDB(t), table)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := devdata.LoadSeedFile(ctx, st, filepath.Join(root, "local", "seed.json")); err != nil {
		t.Fatal(err)
	}
	pins, err := invitation.NewPINKey([]byte(pinSecret))
	if err != nil {
		t.Fatal(err)
	}
	if err := devdata.SeedSamples(ctx, st, pins, time.Now()); err != nil {
		t.Fatal(err)
	}
	return table
}

// samLocalEnv is the environment `sam local` gives fn: each variable the template declares,
// with the env-vars file's value if it has one, else the template's value resolved as SAM CLI
// does (literals, and !Ref to a parameter's default). A variable neither resolves is an error:
// under `sam local` it would hold an unresolved reference.
func samLocalEnv(tmpl *samtemplate.Template, fn samtemplate.Function, samEnv, hosts map[string]string, table string) ([]string, error) {
	env := []string{"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "PATH=" + os.Getenv("PATH")}
	for name, declared := range fn.Env {
		value, ok := samEnv[name]
		if !ok {
			var err error
			if value, err = templateValue(tmpl, declared); err != nil {
				return nil, fmt.Errorf("%s of %s: %w; set it in local/sam-env.json", name, fn.LogicalID, err)
			}
		}
		for container, here := range hosts {
			value = strings.ReplaceAll(value, container, here)
		}
		if name == "TABLE_NAME" {
			value = table
		}
		env = append(env, name+"="+value)
	}
	return append(env, "AWS_REGION="+samEnv["AWS_REGION"]), nil
}

func templateValue(tmpl *samtemplate.Template, declared any) (string, error) {
	switch v := declared.(type) {
	case string:
		return v, nil
	case int, float64, bool:
		return fmt.Sprint(v), nil
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			params, _ := tmpl.Raw()["Parameters"].(map[string]any)
			if p, ok := params[ref].(map[string]any); ok {
				if d, ok := p["Default"]; ok {
					return fmt.Sprint(d), nil
				}
			}
		}
	}
	return "", fmt.Errorf("sam local cannot resolve %v", declared)
}

// invokeUnderRIE runs bin under the emulator with env and posts the event once the emulator
// answers.
func invokeUnderRIE(t *testing.T, rie, bin string, env []string, event []byte) ([]byte, fmt.Stringer) {
	invokeAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-api-address", runtimeAddr, "--runtime-interface-emulator-address", invokeAddr, bin)
	cmd.Env = env
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
	url := "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Post(url, "application/json", bytes.NewReader(event))
		if err == nil {
			defer res.Body.Close()
			var out bytes.Buffer
			if _, err := out.ReadFrom(res.Body); err != nil {
				t.Fatal(err)
			}
			return out.Bytes(), logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator never answered: %v\nlogs:\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
