// Command rss measures the peak resident memory (VmHWM) of the Go process
// that lists a workspace, without the test harness or the fixture server
// in it. Chrome's own processes are not counted: they are separate
// processes.
//
// In-process: it lists the members itself, the way `agent list` does, and
// prints its own VmHWM:
//
//	rss -base-url http://127.0.0.1:8089 -workspace 1234 -session session.json -want 5000
//
// Of a command: it runs the command (e.g. the agent binary) and samples the
// child's VmHWM every 2 ms until it exits. Reading the child's rusage
// instead would not do: it includes the Chrome process the agent waited
// for.
//
//	rss -exec -- bin/agent list -o json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/flows"
)

func main() {
	var (
		baseURL   = flag.String("base-url", "http://127.0.0.1:8089", "the fixture's origin")
		workspace = flag.String("workspace", "1234", "the workspace id")
		session   = flag.String("session", "session.json", "the storage-state file")
		chrome    = flag.String("chrome", "", "the browser binary (default: search)")
		want      = flag.Int("want", 0, "fail unless this many members are listed")
		execMode  = flag.Bool("exec", false, "measure the command after -- instead")
	)
	flag.Parse()
	var err error
	if *execMode {
		err = measureCommand(flag.Args())
	} else {
		err = measureSelf(*baseURL, *workspace, *session, *chrome, *want)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

func measureSelf(baseURL, workspace, session, chrome string, want int) error {
	cfg := agent.Config{
		BaseURL: baseURL, Workspace: workspace, SessionFile: session, ChromePath: chrome,
		StepTimeout: 30 * time.Second, ArtifactsDir: os.TempDir(),
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	state, err := agent.LoadSession(session, time.Now())
	if err != nil {
		return err
	}
	teamURL, err := cfg.TeamURL()
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	b, err := agent.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.SetSession(ctx, state); err != nil {
		return err
	}
	r, err := flows.NewTeam(b, teamURL).List(ctx, workspace)
	if err != nil {
		return err
	}
	// the output's cost too, as `agent list -o json` pays it
	enc := json.NewEncoder(io.Discard)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	elapsed := time.Since(start)
	b.Close()
	if want > 0 && len(r.Members) != want {
		return fmt.Errorf("listed %d members, want %d", len(r.Members), want)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	hwm, _ := statusMiB(os.Getpid(), "VmHWM")
	rss, _ := statusMiB(os.Getpid(), "VmRSS")
	fmt.Printf("in-process: %d members in %s; VmHWM %.1f MiB, VmRSS %.1f MiB, Go heap in use %.1f MiB, Go memory from the OS %.1f MiB\n",
		len(r.Members), elapsed.Round(time.Millisecond), hwm, rss, mib(ms.HeapInuse), mib(ms.Sys))
	return nil
}

func measureCommand(args []string) error {
	if len(args) == 0 {
		return errors.New("-exec needs a command after --")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak float64
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := statusMiB(cmd.Process.Pid, "VmHWM"); err == nil && v > peak {
			peak = v
		}
		select {
		case err := <-done:
			name := filepath.Base(args[0])
			if len(args) > 1 {
				name += " " + args[1]
			}
			fmt.Printf("command `%s`: exited after %s (%s); its VmHWM reached at least %.1f MiB (sampled every 2 ms)\n",
				name, time.Since(start).Round(time.Millisecond), exitText(err), peak)
			return err
		case <-tick.C:
		}
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// statusMiB reads a "kB" field of /proc/PID/status in MiB.
func statusMiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
