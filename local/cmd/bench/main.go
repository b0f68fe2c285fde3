// Command bench measures what issue #13 asks of every function, in one run on this machine,
// and prints one Markdown report (also written to .build/bench.md):
//
//   - the stripped bootstrap's size (arm64, amd64) and its ratio to a hello-world
//     aws-lambda-go bootstrap, to the "DynamoDB floor" (hello world plus one GetItem) and to
//     the floor that calls the same AWS services the function calls, all built in this run
//     with the Makefile's flags and this module's versions;
//   - cold start under the Lambda Runtime Interface Emulator (median of -runs starts: the
//     emulator's init, its first invoke, and the caller's wait) with the same ratios, and the
//     peak RSS of the warm bootstrap (VmHWM after -warm more invocations);
//   - every HTTP action's DynamoDB calls and sequential round trips, counted by the SDK
//     middleware (shared/roundtrips) in shared/handlers' budget test, with its warm latency
//     and the ratio to as many raw GetItems one after another.
//
// Run it through make bench, which starts the emulators around it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

func main() {
	runs := flag.Int("runs", 20, "cold starts per bootstrap (the median is reported)")
	warm := flag.Int("warm", 20, "warm invocations after each cold start, before the peak RSS is read")
	out := flag.String("out", ".build/bench.md", "where the Markdown report is written (relative to the module root)")
	only := flag.String("only", "", "measure only the functions this regexp matches, with the baselines, and skip the actions and the fan-out: a quick look while working on a few functions")
	flag.Parse()
	log.SetFlags(0)
	pick, err := regexp.Compile(*only)
	if err != nil {
		log.Fatalf("-only: %v", err)
	}
	if err := run(*runs, *warm, *out, pick); err != nil {
		log.Fatal(err)
	}
}

// run measures the functions pick matches; the actions and the fan-out only when it matches all.
func run(runs, warm int, out string, pick *regexp.Regexp) error {
	gomod, err := samtemplate.FindRepoFile("go.mod")
	if err != nil {
		return err
	}
	root := filepath.Dir(gomod)
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	work := filepath.Join(root, ".build", "bench")
	fns, err := functionNames(root)
	if err != nil {
		return err
	}
	partial := pick.String() != ""
	fns = slices.DeleteFunc(fns, func(fn string) bool { return !pick.MatchString(fn) })

	log.Printf("building %d functions and the baselines (arm64, amd64)…", len(fns))
	bins, err := buildAll(root, work, fns)
	if err != nil {
		return err
	}

	stage, err := newStage(context.Background(), tmpl)
	if err != nil {
		return err
	}
	defer stage.close()
	rie, err := goTool(root, "aws-lambda-rie")
	if err != nil {
		return err
	}
	log.Printf("cold starts: %d per bootstrap under the Runtime Interface Emulator…", runs)
	baselines := baselineNames(bins)
	starts, err := coldStarts(root, rie, append(baselines, fns...), bins, stage.env, runs, warm)
	if err != nil {
		return err
	}

	report := render(append(baselines, fns...), bins, starts, runs, warm)
	if !partial {
		if report, err = withActionsAndFanOut(report, root, work); err != nil {
			return err
		}
	}
	fmt.Print(report)
	path := filepath.Join(root, out)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(report), 0o644)
}

func withActionsAndFanOut(report, root, work string) (string, error) {
	log.Printf("round trips and warm latency of every action (shared/handlers budget test)…")
	actions, err := measureActions(root, work)
	if err != nil {
		return "", err
	}
	log.Printf("fan-out: commit → push received for 1, 10 and 100 connections through the table's stream…")
	fanOut, err := measureFanOut(root, work)
	if err != nil {
		return "", err
	}
	return report + renderActions(actions) + renderFanOut(fanOut), nil
}

func functionNames(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

const (
	helloName   = "(hello world)"
	floorName   = "(DynamoDB floor)"
	txFloorName = "(DynamoDB floor, a transaction)"
	// txFloorService is the transaction floor's one call, in the calls column.
	txFloorService = "dynamodb TransactWriteItems"
)

var arches = []string{"arm64", "amd64"}

// binary is one built program: a function or a baseline.
type binary struct {
	function bool
	path     map[string]string // by GOARCH
	size     map[string]int64
	services []string // AWS services it calls (functions)
	floor    string   // the baseline that calls the same services (functions)
}

// buildAll builds every function, reads which services each calls, then builds hello world,
// the DynamoDB floor, its twin that makes a transaction instead of a GetItem, and one floor
// per set of services some function calls.
func buildAll(root, work string, fns []string) (map[string]*binary, error) {
	bins := map[string]*binary{}
	floors := map[string][]string{floorName: {"dynamodb"}, txFloorName: {txFloorService}}
	for _, fn := range fns {
		b, err := buildOne(root, work, fn, "./functions/"+fn)
		if err != nil {
			return nil, err
		}
		b.function = true
		if b.services, err = servicesCalled(b.path["arm64"]); err != nil {
			return nil, err
		}
		b.floor = "(floor: " + strings.Join(b.services, "+") + ")"
		if slices.Equal(b.services, []string{"dynamodb"}) {
			b.floor = floorName
		}
		floors[b.floor] = b.services
		bins[fn] = b
	}
	floors[helloName] = nil
	for name, services := range floors {
		dir := filepath.Join(work, "src", strings.NewReplacer("(", "", ")", "", " ", "-", ":", "", "+", "-", ",", "").Replace(name))
		if err := writeBaseline(dir, services); err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, dir)
		b, err := buildOne(root, work, name, "./"+rel)
		if err != nil {
			return nil, err
		}
		b.services = services
		bins[name] = b
	}
	return bins, nil
}

func buildOne(root, work, name, pkg string) (*binary, error) {
	b := &binary{path: map[string]string{}, size: map[string]int64{}}
	for _, arch := range arches {
		p := filepath.Join(work, arch, strings.Trim(strings.ReplaceAll(name, " ", "-"), "()"), "bootstrap")
		if err := build(root, arch, pkg, p); err != nil {
			return nil, err
		}
		n, err := size(p)
		if err != nil {
			return nil, err
		}
		b.path[arch], b.size[arch] = p, n
	}
	return b, nil
}

// coldStarts starts each bootstrap runs times, round robin so that a change in the machine's
// load (it may be shared) touches every bootstrap alike, and keeps the medians. A first,
// unmeasured round warms DynamoDB Local (its JVM) and the file cache.
func coldStarts(root, rie string, names []string, bins map[string]*binary, env []string, runs, warm int) (map[string]start, error) {
	events := map[string][]byte{}
	for _, name := range names {
		events[name] = []byte("{}")
		if bins[name].function {
			b, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
			if err != nil {
				return nil, err
			}
			events[name] = b
		}
	}
	all := map[string][]start{}
	for run := range runs + 1 {
		for _, name := range names {
			s, err := coldStart(rie, bins[name].path[runtime.GOARCH], env, events[name], warm)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if run > 0 {
				all[name] = append(all[name], s)
			}
		}
	}
	starts := map[string]start{}
	for name, runs := range all {
		starts[name] = median(runs)
	}
	return starts, nil
}

// baselineNames are hello world, the DynamoDB floor, then the other floors by name.
func baselineNames(bins map[string]*binary) []string {
	var floors []string
	for name, b := range bins {
		if !b.function && name != helloName && name != floorName {
			floors = append(floors, name)
		}
	}
	slices.Sort(floors)
	return append([]string{helloName, floorName}, floors...)
}

func goTool(root, name string) (string, error) {
	cmd := exec.Command("go", "tool", "-n", name)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n %s: %v", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// action is what shared/handlers' budget test writes for one action (-roundtrips.out).
type action struct {
	Action     string
	Calls      int
	Sequential int
	Took       time.Duration
	GetItems   time.Duration // as many raw GetItems as Sequential, one after another
}

func measureActions(root, work string) ([]action, error) {
	path := filepath.Join(work, "roundtrips.json")
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestRoundTrips_EveryActionWithinItsBudget$", "./shared/handlers",
		"-args", "-roundtrips.out="+path)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("budget test: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []action
	return out, json.Unmarshal(b, &out)
}

// fanOut is one line of shared/push's fan-out measurement.
type fanOut struct {
	Connections int
	Rounds      int
	P50, P99    time.Duration
}

// measureFanOut runs shared/push's fan-out test in full: a message committed through the
// store, read from the table's stream like Lambda does, pushed by the real push function.
func measureFanOut(root, work string) ([]fanOut, error) {
	path := filepath.Join(work, "fanout.json")
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestFanOut_CommitToPushReceivedThroughTheStream$", "./shared/push",
		"-args", "-fanout.out="+path)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("fan-out test: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []fanOut
	return out, json.Unmarshal(b, &out)
}
