package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

type smokeOut struct {
	Steps []struct {
		Rendition string `json:"rendition"`
		Step      string `json:"step"`
		OK        bool   `json:"ok"`
		Skipped   bool   `json:"skipped"`
		Detail    string `json:"detail"`
	} `json:"steps"`
}

func runSmoke(t *testing.T, args ...string) (int, smokeOut, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	chrome := fixturetest.Chrome(t)
	args = append([]string{"smoke", "-o", "json", "--chrome", chrome, "--artifacts-dir", t.TempDir(), "--timeout", "10s"}, args...)
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	var out smokeOut
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	return code, out, stderr.String()
}

func TestSmokeEveryRendition(t *testing.T) {
	code, out, stderr := runSmoke(t, "--rendition", "all")
	require.Equal(t, 0, code, stderr)
	perRendition := map[string]int{}
	for _, s := range out.Steps {
		assert.True(t, s.OK, "%s/%s: %s", s.Rendition, s.Step, s.Detail)
		perRendition[s.Rendition]++
	}
	for _, r := range fixtures.Renditions() {
		assert.Equal(t, 10, perRendition[r], r)
	}
}

func TestSmokeAgainstAServer(t *testing.T) {
	srv := fixtures.New(fixtures.WithRendition(fixtures.RenditionPaged))
	hs := httptest.NewServer(srv)
	defer hs.Close()
	code, out, stderr := runSmoke(t, "--base-url", hs.URL)
	require.Equal(t, 0, code, stderr)
	require.Len(t, out.Steps, 10)
	assert.Equal(t, "list again", out.Steps[9].Step)
	// the throwaway addresses were really invited, changed and removed
	kinds := map[string]int{}
	for _, m := range srv.Mutations() {
		kinds[m.Kind]++
	}
	assert.Equal(t, map[string]int{"invite": 2, "set-role": 1, "remove": 1, "revoke": 1}, kinds)
	assert.Len(t, srv.Members(), len(fixtures.SeedMembers()))
}

func TestSmokeFailsAndSkipsTheRest(t *testing.T) {
	srv := fixtures.New(fixtures.WithRendition(fixtures.RenditionTable))
	srv.SetFaults(fixtures.Faults{InviteError: "No seats left on your plan."})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	code, out, _ := runSmoke(t, "--base-url", hs.URL)
	assert.Equal(t, 1, code)
	require.Len(t, out.Steps, 10)
	assert.True(t, out.Steps[2].OK)
	assert.False(t, out.Steps[3].OK)
	assert.Contains(t, out.Steps[3].Detail, "No seats left")
	for _, s := range out.Steps[4:] {
		assert.True(t, s.Skipped, s.Step)
	}
}

func TestSmokeRefusesARealServer(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"smoke", "--base-url", hs.URL}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "not a fixture server")
}
