package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// render is the Markdown report's first table: baselines and functions, rows in that order.
func render(rows []string, bins map[string]*binary, starts map[string]start, runs, warm int) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# make bench — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %s/%s, %d CPUs (%s), %s, load average %s at the end (the timings are only as quiet as the machine). Sizes: stripped `bootstrap` built with the Makefile's flags. "+
		"Cold start: median of %d starts under the Runtime Interface Emulator (%s), round robin; init = the emulator's INIT REPORT "+
		"(exec to the runtime's first request for work), first = its first invoke, wait = the caller's POST to answer; "+
		"a function gets its `events/` sample, whose answer may be a 4xx (its round trips count, not its outcome). "+
		"Peak RSS: VmHWM after %d warm invocations. Ratios: × hello world, × DynamoDB floor (hello world + one GetItem), "+
		"× the floor that calls the same services.\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), host, loadAverage(), runs, runtime.GOARCH, warm)

	b.WriteString("| function | calls | arm64 MB | × hello | × DDB floor | × same floor | amd64 MB | × same floor " +
		"| init ms | × DDB floor | init+first ms | wait ms | × hello | × DDB floor | × same floor | peak RSS MiB | × DDB floor |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	hello, floor := bins[helloName], bins[floorName]
	row := func(name string) {
		bin, s := bins[name], starts[name]
		same := bins[bin.floor]
		if same == nil { // a baseline is its own floor
			same = bin
		}
		sameStart, ok := starts[bin.floor]
		if !ok {
			sameStart = s
		}
		services := strings.Join(bin.services, ", ")
		if services == "" {
			services = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %s | %s | %s | %.2f | %s | %.1f | %s | %.1f | %.1f | %s | %s | %s | %.1f | %s |\n",
			name, services, mb(bin.size["arm64"]), ratio(float64(bin.size["arm64"]), float64(hello.size["arm64"])),
			ratio(float64(bin.size["arm64"]), float64(floor.size["arm64"])), ratio(float64(bin.size["arm64"]), float64(same.size["arm64"])),
			mb(bin.size["amd64"]), ratio(float64(bin.size["amd64"]), float64(same.size["amd64"])),
			msOf(s.init), ratio(msOf(s.init), msOf(starts[floorName].init)),
			coldMs(s), msOf(s.wall), ratio(coldMs(s), coldMs(starts[helloName])), ratio(coldMs(s), coldMs(starts[floorName])), ratio(coldMs(s), coldMs(sameStart)),
			float64(s.peak)/(1<<20), ratio(float64(s.peak), float64(starts[floorName].peak)))
	}
	for _, name := range rows {
		row(name)
	}
	return b.String()
}

// renderActions is the table of every action's round trips and warm latency.
func renderActions(actions []action) string {
	var b strings.Builder
	b.WriteString("\n| action | DynamoDB calls | sequential | warm ms | × raw GetItems |\n|---|--:|--:|--:|--:|\n")
	for _, a := range actions {
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %s |\n", a.Action, a.Calls, a.Sequential, msOf(a.Took), ratio(msOf(a.Took), msOf(a.GetItems)))
	}
	b.WriteString("\nWarm latency: median of the budget test's repeated runs through the real handlers in one process " +
		"(HTTP authorizer included, pushes to a local @connections stub), against DynamoDB Local; " +
		"\"raw GetItems\" are as many GetItems as the action's sequential round trips, one after another, on the same table.\n")
	return b.String()
}

func coldMs(s start) float64 { return msOf(s.init + s.invoke) }

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(n int64) float64 { return float64(n) / 1e6 }

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage is the 1, 5 and 15 minute load averages, as /proc/loadavg has them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// renderFanOut is the fan-out table: commit → push received, and 100 connections against 1.
func renderFanOut(rows []fanOut) string {
	var b strings.Builder
	b.WriteString("\n| fan-out | rounds | p50 ms | p99 ms | p99 × 1 connection |\n|---|--:|--:|--:|--:|\n")
	var one float64
	for _, r := range rows {
		if r.Connections == 1 {
			one = msOf(r.P99)
		}
		fmt.Fprintf(&b, "| %d connection(s) | %d | %.1f | %.1f | %s |\n", r.Connections, r.Rounds, msOf(r.P50), msOf(r.P99), ratio(msOf(r.P99), one))
	}
	b.WriteString("\nFan-out: one message per round committed through the store (timed from the start of its commit), the table's stream " +
		"read as Lambda's event source mapping does (every 20 ms when idle, by the local gateway's poller), the real push function, " +
		"the real SDK client posting to a local @connections endpoint; every delivery of every round counts.\n")
	return b.String()
}
