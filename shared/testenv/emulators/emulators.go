// Package emulators runs the local AWS API servers that tests and the local stack talk to:
// Amazon DynamoDB Local and aws-ses-v2-local, both pinned in local/package.json. They run as
// child processes that never outlive their parent: each gets its own process group, which Stop
// kills, and on Linux the kernel kills them if the parent dies without stopping them.
//
// The package does not import "testing", so commands (local/cmd/emulators) can use it as well
// as the testenv package.
package emulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Options say where the emulators come from and which ports they listen on.
type Options struct {
	// LocalDir is the repository's local/ directory, holding package.json and node_modules.
	// node_modules is installed there with `npm ci` when missing or out of date.
	LocalDir string
	// DynamoDBPort and SESPort are the ports to listen on; 0 picks a free port.
	DynamoDBPort, SESPort int
	// DataDir, if set, is where DynamoDB Local keeps its tables across restarts (-dbPath);
	// empty means in memory, gone when it stops.
	DataDir string
	// Host is the address the SES emulator binds: "" means 127.0.0.1. DynamoDB Local always
	// binds every interface (it has no option for it); its endpoint stays on 127.0.0.1.
	Host string
	// ReadyTimeout bounds the wait for each emulator to answer; 0 means one minute (a JVM
	// on a busy CI machine running tests in parallel can take a while).
	ReadyTimeout time.Duration
}

func (o Options) host() string {
	if o.Host == "" {
		return "127.0.0.1"
	}
	return o.Host
}

func (o Options) readyTimeout() time.Duration {
	if o.ReadyTimeout > 0 {
		return o.ReadyTimeout
	}
	return time.Minute
}

// Emulator is one running emulator process.
type Emulator struct {
	Name     string // "DynamoDB Local" or "SES emulator"
	Endpoint string // base URL, e.g. http://127.0.0.1:8000

	cmd      *exec.Cmd
	output   *tail
	exited   chan struct{} // closed once the process has been waited for
	stopOnce sync.Once
}

// Exited is closed when the emulator's process has ended, whether by Stop or on its own.
func (e *Emulator) Exited() <-chan struct{} { return e.exited }

// Output returns the last lines the emulator printed, for error messages.
func (e *Emulator) Output() string { return e.output.String() }

// Stop ends the emulator's process group: SIGTERM, then SIGKILL if it has not ended within
// five seconds. It returns once the process is gone and is safe to call more than once.
func (e *Emulator) Stop() {
	e.stopOnce.Do(func() {
		pgid := e.cmd.Process.Pid // the process leads its own group (Setpgid)
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-e.exited
		}
		// Anything the emulator may have forked shares its group; make sure none survives it.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

// Emulators is both emulators, started together.
type Emulators struct {
	DynamoDB *Emulator
	SES      *Emulator
}

// Start starts DynamoDB Local and the SES emulator in parallel and waits until both answer.
// ctx bounds only the start; the processes run until Stop.
func Start(ctx context.Context, opts Options) (*Emulators, error) {
	var e Emulators
	var ddbErr, sesErr error
	var wg sync.WaitGroup
	wg.Go(func() { e.DynamoDB, ddbErr = StartDynamoDB(ctx, opts) })
	wg.Go(func() { e.SES, sesErr = StartSES(ctx, opts) })
	wg.Wait()
	if err := errors.Join(ddbErr, sesErr); err != nil {
		e.Stop()
		return nil, err
	}
	return &e, nil
}

// Stop stops both emulators (those that started).
func (e *Emulators) Stop() {
	for _, em := range []*Emulator{e.DynamoDB, e.SES} {
		if em != nil {
			em.Stop()
		}
	}
}

// launchSpec says how to run one emulator on a given port.
type launchSpec struct {
	name    string
	host    string // where the emulator is reached: "" or an unspecified address mean 127.0.0.1
	command func(port int) *exec.Cmd
	ready   func(ctx context.Context, endpoint string) error
}

var errExited = errors.New("exited before it was ready")

// start runs an emulator and waits until it answers. A port picked here can be taken by
// someone else before the emulator binds it; the emulator then exits, and with an automatic
// port start tries again on another one.
func start(ctx context.Context, spec launchSpec, port int, timeout time.Duration) (*Emulator, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = freePort(); err != nil {
				return nil, fmt.Errorf("%s: %w", spec.name, err)
			}
		}
		e, err := launch(spec, p)
		if err != nil {
			return nil, err
		}
		err = e.waitReady(ctx, spec.ready, timeout)
		if err == nil {
			return e, nil
		}
		e.Stop()
		if port != 0 || !errors.Is(err, errExited) || attempt == attempts {
			return nil, fmt.Errorf("%s on port %d: %w\n--- its last output ---\n%s", spec.name, p, err, e.Output())
		}
	}
}

func launch(spec launchSpec, port int) (*Emulator, error) {
	cmd := spec.command(port)
	e := &Emulator{
		Name:     spec.name,
		Endpoint: "http://" + net.JoinHostPort(reachable(spec.host), strconv.Itoa(port)),
		cmd:      cmd,
		output:   &tail{},
		exited:   make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = e.output, e.output
	cmd.SysProcAttr = ChildProcAttr()
	// Bounds Wait if something inherited the output pipe and keeps it open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", spec.name, cmd.Path, err)
	}
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()
	return e, nil
}

func (e *Emulator) waitReady(ctx context.Context, ready func(context.Context, string) error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A probe can hang on a port someone else holds; the emulator's exit must end it at once.
	probeParent, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	go func() {
		select {
		case <-e.exited:
			cancelProbes()
		case <-probeParent.Done():
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		probeCtx, probeCancel := context.WithTimeout(probeParent, 2*time.Second)
		lastErr = ready(probeCtx, e.Endpoint)
		probeCancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("%w (%s)", errExited, e.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w (last check: %v)", timeout, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// reachable names a host a client on this machine can dial: an address that listens on
// every interface is reached on loopback.
func reachable(host string) string {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return host
}

// freePort asks the kernel for a port that is free on every interface (DynamoDB Local binds
// all of them).
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last few kilobytes a process wrote.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
