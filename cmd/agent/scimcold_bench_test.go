package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

// BenchmarkSCIMColdRead measures how long the first SCIM read takes from
// the start of the `agent scim serve` process, with a store kept by an
// earlier run, against a Team page whose roster read takes 2 s: the time
// from exec to the answer of GET /Users?count=1&startIndex=1, Okta's first
// request (its test suite allows 600 ms). Each iteration starts and stops
// a process; run it with -benchtime Nx.
func BenchmarkSCIMColdRead(b *testing.B) {
	m := coldEnv(b)
	state := filepath.Join(m.Dir, "scim-state")

	// the earlier run: the first start reads the roster into the store
	cmd, base := startSCIMProcess(b, m, state)
	require.Eventually(b, func() bool { return healthy(base) }, 2*time.Minute, 50*time.Millisecond, "the first roster read")
	stopSCIMProcess(b, cmd)

	m.Server.SetFaults(fixtures.Faults{RowDelay: 2 * time.Second})
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		cmd, base := startSCIMProcess(b, m, state)
		code, _ := scimCall(b, base, "GET", "/Users?count=1&startIndex=1", nil, scimToken)
		elapsed := time.Since(start)
		b.StopTimer()
		require.Equal(b, http.StatusOK, code)
		total += elapsed
		stopSCIMProcess(b, cmd)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-read")
}

// coldEnv is a fixture server for the benchmark, with the CLI's
// environment cleared and its files in a scratch directory.
func coldEnv(b *testing.B) *mutEnv {
	chrome := fixturetest.Chrome(b)
	for _, k := range agentEnvVars {
		b.Setenv(k, "")
	}
	env := fixturetest.Start(b, fixtures.WithRendition(fixtures.RenditionTable))
	return &mutEnv{
		e2e:      &e2e{Env: env, chrome: chrome, artifacts: filepath.Join(env.Dir, "artifacts")},
		auditLog: filepath.Join(env.Dir, "audit", "audit.jsonl"),
		evidence: filepath.Join(env.Dir, "evidence"),
		locks:    filepath.Join(env.Dir, "locks"),
	}
}

// stopSCIMProcess stops the service with SIGTERM and waits for it.
func stopSCIMProcess(tb testing.TB, cmd *exec.Cmd) {
	tb.Helper()
	require.NoError(tb, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
}

// healthy reports whether the service's /healthz answers 200.
func healthy(base string) bool {
	resp, err := http.Get(base[:len(base)-len("/scim/v2")] + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
