package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
)

// timedGet sends a GET with the token and returns its status, a header,
// the body and how long the answer took.
func timedGet(t *testing.T, url, header string) (int, string, map[string]any, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+scimToken)
	start := time.Now()
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(data, &body), "%s: %s", url, data)
	return resp.StatusCode, resp.Header.Get(header), body, elapsed
}

// health reads the service's /healthz.
func (s *scimEnv) health(t *testing.T) (int, map[string]any) {
	t.Helper()
	code, _, body, _ := timedGet(t, strings.TrimSuffix(s.base, "/scim/v2")+"/healthz", "")
	return code, body
}

// TestSCIMRestartAnswersFromTheKeptRoster: on a first start, /healthz is
// ready once the Team page was read; after a restart against a Team page
// whose rows come late, the first reads are answered from the roster kept
// in the store, with its age in X-Roster-Age, while the new roster read is
// still held by the page (each read is held for 5 s: an answer that waited
// for it would come after the read was released). How long the first read
// takes from the process's start is BenchmarkSCIMColdRead's.
func TestSCIMRestartAnswersFromTheKeptRoster(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	var readAt any
	t.Run("first start", func(t *testing.T) {
		m.Server.SetFaults(fixtures.Faults{RowDelay: 2 * time.Second})
		s := startSCIM(t, m)
		require.Eventually(t, func() bool { return m.Server.HeldReads() > 0 }, time.Minute, 10*time.Millisecond, "the roster read began")
		code, h := s.health(t)
		assert.Equal(t, http.StatusServiceUnavailable, code, h)
		assert.Equal(t, "the first roster read has not finished", h["reason"])
		require.Eventually(t, func() bool { code, _ := s.health(t); return code == http.StatusOK }, time.Minute, 50*time.Millisecond)
		_, h = s.health(t)
		readAt = h["roster_read_at"]
		require.NotEmpty(t, readAt)
	})

	m.Server.SetFaults(fixtures.Faults{RowDelay: 5 * time.Second})
	s := startSCIM(t, m)
	tests := []string{"/Users?count=1&startIndex=1", "/Users?filter=" + urlQuery(`userName eq "john.smith@acme.test"`), "/Groups"}
	for i, path := range tests {
		code, age, body, elapsed := timedGet(t, s.base+path, "X-Roster-Age")
		require.Equal(t, http.StatusOK, code, body)
		assert.NotEmpty(t, body["Resources"], path)
		if i > 0 {
			assert.Positive(t, m.Server.HeldReads(), "%s: answered while the new roster read is held", path)
		}
		n, err := strconv.Atoi(age)
		require.NoError(t, err, "%s: X-Roster-Age %q", path, age)
		assert.GreaterOrEqual(t, n, 0)
		if i == 0 {
			t.Logf("the first read after the start took %s (X-Roster-Age %s)", elapsed, age)
			require.Eventually(t, func() bool { return m.Server.HeldReads() > 0 }, time.Minute, 10*time.Millisecond, "the new roster read began")
		}
	}
	john := s.userID(t, "john.smith@acme.test")
	code, _, u, _ := timedGet(t, s.base+"/Users/"+john, "")
	require.Equal(t, http.StatusOK, code, u)
	name, _ := u["name"].(map[string]any)
	assert.Equal(t, "John", name["givenName"])
	assert.Equal(t, "Smith", name["familyName"])

	assert.Positive(t, m.Server.HeldReads(), "the new roster read is still held")
	code, h := s.health(t)
	assert.Equal(t, http.StatusOK, code, h)
	assert.Equal(t, readAt, h["roster_read_at"], "answered from the roster the first process read")
}
