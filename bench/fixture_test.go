package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

// serveEnv makes the test binary serve a fixture instead of running
// tests: its value is "rendition:members".
const serveEnv = "CLAY_BENCH_SERVE"

// TestMain serves the fixture in a child process when asked, so that the
// benchmarks' allocation and memory figures hold the agent's work only,
// not the fixture server's.
func TestMain(m *testing.M) {
	if spec := os.Getenv(serveEnv); spec != "" {
		if err := serveFixture(spec); err != nil {
			fmt.Fprintln(os.Stderr, "fixture server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// served is what the child prints once it listens.
type served struct {
	URL       string `json:"url"`
	Workspace string `json:"workspace"`
	TeamPath  string `json:"team_path"`
	Cookie    string `json:"cookie"`
}

// serveFixture serves until its standard input closes (the parent ended).
func serveFixture(spec string) error {
	rendition, count, ok := strings.Cut(spec, ":")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || !fixtures.ValidRendition(rendition) {
		return fmt.Errorf("bad %s=%q (want rendition:members)", serveEnv, spec)
	}
	srv := fixtures.New(fixtures.WithRendition(rendition), fixtures.WithMembers(n))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	out, err := json.Marshal(served{
		URL:       "http://" + ln.Addr().String(),
		Workspace: srv.Workspace(),
		TeamPath:  srv.TeamPath(),
		Cookie:    srv.NewSession().Value,
	})
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return hs.Close()
}

// fixture is a fixture server running in a child process, with a session
// file and a runtime configuration for it.
type fixture struct {
	served
	members int
	cfg     agent.Config
	state   *agent.StorageState
	teamURL string
}

// startFixture starts the child fixture server for rendition with n
// members and stops it when the benchmark ends.
func startFixture(b *testing.B, rendition string, n int) *fixture {
	b.Helper()
	chrome := fixturetest.Chrome(b)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d", serveEnv, rendition, n))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("fixture server: %v", err)
	}
	f := &fixture{members: n}
	if err := json.Unmarshal([]byte(line), &f.served); err != nil {
		b.Fatalf("fixture server said %q: %v", line, err)
	}
	dir := b.TempDir()
	f.state = &agent.StorageState{
		Cookies: []agent.Cookie{{
			Name: agent.SessionCookieName, Value: f.Cookie, Domain: "127.0.0.1", Path: "/",
			Expires: float64(time.Now().Add(24 * time.Hour).Unix()), HTTPOnly: true, SameSite: "Lax",
		}},
		Origins: []agent.Origin{},
	}
	session := filepath.Join(dir, "session.json")
	if err := f.state.Save(session); err != nil {
		b.Fatal(err)
	}
	f.cfg = agent.Config{
		BaseURL:      f.URL,
		Workspace:    f.Workspace,
		TeamPath:     f.TeamPath,
		SessionFile:  session,
		ChromePath:   chrome,
		StepTimeout:  30 * time.Second,
		ArtifactsDir: filepath.Join(dir, "artifacts"),
	}
	f.teamURL, err = f.cfg.TeamURL()
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// rssMiB reads a field such as VmHWM of /proc/self/status in MiB.
func rssMiB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
