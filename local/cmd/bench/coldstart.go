package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// start is one cold start of a bootstrap under the Lambda Runtime Interface Emulator.
type start struct {
	init   time.Duration // the emulator's INIT REPORT: from exec to the runtime's first /next
	invoke time.Duration // the emulator's first INVOKE RTDONE: the handler's first answer
	wall   time.Duration // POST to answer, as a caller waits for it (emulator overhead included)
	peak   int64         // the bootstrap's VmHWM after the warm invocations, bytes
}

// coldStart starts the emulator with bin, invokes it with event (cold), then warm more times,
// and reads the bootstrap's peak RSS before stopping it.
func coldStart(rie, bin string, env []string, event []byte, warm int) (start, error) {
	addrs := freeAddrs(2)
	invokeAddr, runtimeAddr := addrs[0], addrs[1]
	var out logBuffer
	cmd := exec.Command(rie, "--runtime-api-address", runtimeAddr, "--runtime-interface-emulator-address", invokeAddr, bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return start{}, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	if err := waitListening(invokeAddr); err != nil {
		return start{}, fmt.Errorf("%v\n%s", err, out.String())
	}
	url := "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	t0 := time.Now()
	if err := invoke(url, event); err != nil {
		return start{}, fmt.Errorf("%v\n%s", err, out.String())
	}
	s := start{wall: time.Since(t0)}
	for range warm {
		if err := invoke(url, event); err != nil {
			return start{}, err
		}
	}
	var err error
	if s.peak, err = peakRSS(cmd.Process.Pid); err != nil {
		return start{}, err
	}
	if s.init, s.invoke, err = reported(out.String()); err != nil {
		return start{}, fmt.Errorf("%v\n%s", err, out.String())
	}
	return s, nil
}

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(status: \w+, produced bytes: \d+, duration: ([0-9.]+)ms\)`)
)

// reported reads the emulator's own init and first-invoke durations from its log.
func reported(log string) (initD, invokeD time.Duration, err error) {
	i, v := initReport.FindStringSubmatch(log), invokeDone.FindStringSubmatch(log)
	if i == nil || v == nil {
		return 0, 0, fmt.Errorf("no INIT REPORT or INVOKE RTDONE in the emulator's log")
	}
	return ms(i[1]), ms(v[1]), nil
}

func ms(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}

func invoke(url string, event []byte) error {
	res, err := http.Post(url, "application/json", bytes.NewReader(event))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || bytes.Contains(body, []byte(`"errorType"`)) {
		return fmt.Errorf("invoke: %d %s", res.StatusCode, body)
	}
	return nil
}

// peakRSS is the VmHWM of the emulator's child (the bootstrap).
func peakRSS(riePID int) (int64, error) {
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", riePID, riePID))
	if err != nil {
		return 0, err
	}
	// The emulator may run the runtime from any of its threads; look at each.
	if len(bytes.TrimSpace(children)) == 0 {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", riePID))
		for _, t := range tasks {
			c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", riePID, t.Name()))
			children = append(children, c...)
		}
	}
	fields := strings.Fields(string(children))
	if len(fields) == 0 {
		return 0, fmt.Errorf("the emulator has no child process")
	}
	status, err := os.ReadFile("/proc/" + fields[0] + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %s", fields[0])
}

func waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the emulator never listened on %s: %v", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freeAddrs returns n distinct free loopback addresses. The listeners are all held until every
// address is chosen: one closed before the next is opened may be handed out again, and the
// emulator then fails to bind its second address.
func freeAddrs(n int) []string {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// median of the runs, field by field.
func median(runs []start) start {
	pick := func(f func(start) time.Duration) time.Duration {
		v := make([]time.Duration, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	peaks := make([]int64, len(runs))
	for i, r := range runs {
		peaks[i] = r.peak
	}
	slices.Sort(peaks)
	return start{
		init:   pick(func(s start) time.Duration { return s.init }),
		invoke: pick(func(s start) time.Duration { return s.invoke }),
		wall:   pick(func(s start) time.Duration { return s.wall }),
		peak:   peaks[len(peaks)/2],
	}
}

// logBuffer collects the emulator's output, written from its goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
