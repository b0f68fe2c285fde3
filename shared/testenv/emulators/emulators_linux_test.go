package emulators

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A test binary that dies without stopping its emulators (a panic, a timeout, kill -9) must
// not leave them running: the kernel kills them with it (Pdeathsig).
func TestEmulatorsDieWithTheirParent(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^TestHelperStartsSESAndHangs$", "-test.v")
	parent.Env = append(os.Environ(), "EMULATORS_TEST_HELPER=1")
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()

	pid := readPID(t, stdout)
	if !alive(pid) {
		t.Fatalf("emulator %d is not running while its parent is", pid)
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = exec.Command("kill", "-9", strconv.Itoa(pid)).Run()
			t.Fatalf("emulator %d outlived its parent by 10s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHelperStartsSESAndHangs is the parent process of TestEmulatorsDieWithTheirParent.
func TestHelperStartsSESAndHangs(t *testing.T) {
	if os.Getenv("EMULATORS_TEST_HELPER") != "1" {
		t.Skip("helper process only")
	}
	e, err := StartSES(context.Background(), Options{LocalDir: localDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("EMULATOR PID %d\n", e.cmd.Process.Pid)
	select {} // until killed
}

func readPID(t *testing.T, r interface{ Read([]byte) (int, error) }) int {
	t.Helper()
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "EMULATOR PID "); ok {
			pid, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("helper process ended without starting the emulator")
	return 0
}

// alive reports whether pid runs. A zombie counts as dead: in a container, whoever inherits
// the orphan may never reap it.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "123 (node) S ...".
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}
