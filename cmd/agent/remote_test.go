package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

// startRemoteChrome runs a browser with its DevTools endpoint open, as a
// headless-shell container would, and returns its http:// address.
func startRemoteChrome(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	cmd := exec.Command(fixturetest.Chrome(t), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		fmt.Sprintf("--remote-debugging-port=%d", port), "--remote-debugging-address=127.0.0.1",
		"--user-data-dir="+t.TempDir(), "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/json/version"); err == nil {
			resp.Body.Close()
			return url
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the remote browser did not open its DevTools endpoint")
	return ""
}

func pageTargets(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/json/list")
	require.NoError(t, err)
	defer resp.Body.Close()
	var targets []struct {
		Type string `json:"type"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&targets))
	n := 0
	for _, tg := range targets {
		if tg.Type == "page" {
			n++
		}
	}
	return n
}

// With --chrome-url the agent attaches to a running browser, works in a
// browser context of its own, and leaves the browser as it found it.
func TestListWithARemoteBrowser(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
	remote := startRemoteChrome(t)
	before := pageTargets(t, remote)
	for i := 0; i < 2; i++ {
		var stdout, stderr bytes.Buffer
		code := run([]string{"list", "-o", "json", "--chrome-url", remote, "--base-url", env.URL(), "--workspace", env.Server.Workspace(),
			"--session", env.SessionFile, "--timeout", "10s", "--artifacts-dir", t.TempDir()}, strings.NewReader(""), &stdout, &stderr)
		require.Equal(t, 0, code, stderr.String())
		var got rosterJSON
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
		assert.Len(t, got.Members, len(env.Server.Members()))
	}
	assert.Equal(t, before, pageTargets(t, remote), "no tab is left behind")
	// the remote browser keeps no session of the agent's
	var stdout, stderr bytes.Buffer
	code := run([]string{"login", "--email", "admin@acme.test", "--password-stdin", "--chrome-url", remote, "--base-url", env.URL(),
		"--workspace", env.Server.Workspace(), "--session", t.TempDir() + "/s.json", "--timeout", "10s", "--artifacts-dir", t.TempDir()},
		strings.NewReader("correct-horse\n"), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "signed in", "the login page was shown: no cookie was kept from the runs before")
}
