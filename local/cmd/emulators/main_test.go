package main

import (
	"bufio"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCommandGetsTheEndpointsAndItsExitStatusIsReturned(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	t.Setenv("OUT", out)
	t.Setenv("AWS_PROFILE", "someones-real-profile")
	script := `printf '%s\n%s\n%s\n%s\n' "$IF_TEST_DYNAMODB_ENDPOINT" "$AWS_ENDPOINT_URL_SESV2" "$AWS_ACCESS_KEY_ID" "${AWS_PROFILE-unset}" > "$OUT"; exit 3`

	code := run([]string{"-dynamodb-port", "0", "-ses-port", "0", "--", "sh", "-c", script}, io.Discard, os.Stderr)

	if code != 3 {
		t.Errorf("exit status %d, want the command's 3", code)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "http://127.0.0.1:") || !strings.HasPrefix(lines[1], "http://127.0.0.1:") ||
		lines[2] != "local" || lines[3] != "unset" {
		t.Fatalf("the command saw %q", lines)
	}
	assertStopped(t, lines[0], lines[1])
}

func TestCommandThatCannotStartStopsTheEmulators(t *testing.T) {
	code := run([]string{"-dynamodb-port", "0", "-ses-port", "0", "--", "/nonexistent/command"}, io.Discard, io.Discard)
	if code != 127 {
		t.Errorf("exit status %d, want 127", code)
	}
	if kids := children(t); len(kids) != 0 {
		t.Errorf("child processes left: %v", kids)
	}
}

// Without a command the runner serves until interrupted, then stops both emulators.
func TestServeUntilInterrupted(t *testing.T) {
	runner := exec.Command(build(t), "-dynamodb-port", "0", "-ses-port", "0")
	stdout, err := runner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	defer runner.Process.Kill()
	var endpoints []string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "Ctrl-C") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(lines.Text()), "export IF_TEST_"); ok {
			_, endpoint, _ := strings.Cut(v, "=")
			endpoints = append(endpoints, endpoint)
		}
	}
	if len(endpoints) != 2 {
		t.Fatalf("printed endpoints %v, want DynamoDB's and SES's", endpoints)
	}
	for _, e := range endpoints {
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(e, "http://"), time.Second); err != nil {
			t.Errorf("%s does not answer while serving: %v", e, err)
		} else {
			c.Close()
		}
	}

	if err := runner.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := runner.Wait(); err != nil {
		t.Errorf("runner after Ctrl-C: %v, want exit status 0", err)
	}
	assertStopped(t, endpoints...)
}

func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "emulators")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// children lists this process's child processes (Linux only; elsewhere it finds none).
func children(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var kids []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		kids = append(kids, strings.Fields(string(data))...)
	}
	return kids
}

// SIGTERM to the runner ends the command and what it started, then the emulators, and the
// runner reports the command's death by the signal.
func TestSIGTERMLeavesNoProcessBehind(t *testing.T) {
	script := `sleep 60 & echo "READY $$ $! $IF_TEST_DYNAMODB_ENDPOINT $IF_TEST_SES_ENDPOINT"; wait`
	runner := exec.Command(build(t), "-dynamodb-port", "0", "-ses-port", "0", "--", "sh", "-c", script)
	stdout, err := runner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	runner.Stderr = os.Stderr
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	defer runner.Process.Kill()

	ready := readReady(t, stdout)
	shell, sleeper := atoi(t, ready[1]), atoi(t, ready[2])
	if err := runner.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = runner.Wait()
	if code := runner.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("runner exit status %d (%v), want %d", code, err, 128+int(syscall.SIGTERM))
	}
	for _, pid := range []int{shell, sleeper} {
		if alive(pid) {
			t.Errorf("process %d outlived the runner", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	assertStopped(t, ready[3], ready[4])
}

func readReady(t *testing.T, r io.Reader) []string {
	t.Helper()
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 5 && f[0] == "READY" {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return f
		}
	}
	t.Fatal("the command never ran")
	return nil
}

func assertStopped(t *testing.T, endpoints ...string) {
	t.Helper()
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after the runner ended", e)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// alive reports whether pid runs; a zombie nobody reaps counts as dead.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err) // no /proc (macOS): trust kill -0
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}
