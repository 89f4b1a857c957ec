package scim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/scim"
)

// serveReal serves h over real HTTP on loopback, with the header bound
// scim serve sets.
func serveReal(t *testing.T, h *harness) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(h.handler)
	ts.Config.MaxHeaderBytes = scim.MaxHeaderBytes
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// TestUnauthenticatedFloodStaysOutOfTheStore: 1,000 requests without the
// token, with queries of 3 KB (answered 401 or 429), 10 KB (414) and
// 900 KB (431 from net/http), leave nothing in the request log and the
// store's file about the size it was, while an authenticated client is
// answered throughout.
func TestUnauthenticatedFloodStaysOutOfTheStore(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.RequestLogMaxBytes = 256 << 10 })
	ts := serveReal(t, h)
	client := ts.Client()
	get := func(path string, authed bool) (int, error) {
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		require.NoError(t, err)
		if authed {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	code, err := get("/scim/v2/Users", true)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	fi, err := os.Stat(h.cfg.StatePath)
	require.NoError(t, err)
	before := fi.Size()

	statuses := map[int]int{}
	for i := 0; i < 1000; i++ {
		size := 3 << 10
		switch {
		case i%50 == 0:
			size = 900 << 10
		case i%5 == 0:
			size = 10 << 10
		}
		code, err := get("/scim/v2/Users?filter="+strings.Repeat("a", size), false)
		if err == nil {
			statuses[code]++
		} else {
			statuses[-1]++ // the server may close on a header it will not read
		}
		if i%100 == 0 {
			code, err := get("/scim/v2/Users?count=1", true)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code, "an authenticated client is served during the flood")
		}
	}
	t.Logf("answers: %v", statuses)
	assert.Positive(t, statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests])
	assert.Positive(t, statuses[http.StatusRequestURITooLong])
	assert.Zero(t, statuses[http.StatusOK])

	entries, err := h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotEqual(t, http.StatusUnauthorized, e.Status, "an unauthenticated request is counted, not stored")
		assert.LessOrEqual(t, len(e.Query), scim.LoggedQueryBytes)
	}
	assert.Len(t, entries, 11, "the authenticated requests, and only they")
	fi, err = os.Stat(h.cfg.StatePath)
	require.NoError(t, err)
	assert.Less(t, fi.Size(), before+(1<<20), "the store did not grow with the flood (%d → %d bytes)", before, fi.Size())
}

// TestRequestLogIsCappedOldestFirst: past RequestLogMaxBytes the oldest
// entries go; queries are truncated and secrets in them never stored.
func TestRequestLogIsCappedOldestFirst(t *testing.T) {
	be := newFakeBackend()
	const cap = 64 << 10
	h := newHarness(t, be, func(c *scim.Config) { c.RequestLogMaxBytes = cap; c.RatePerClient = 1e6; c.Burst = 1e6 })
	// answered 400 (no such filter), logged all the same
	h.do(http.MethodGet, "/scim/v2/Users?access_token=SECRET-in-the-query&filter="+strings.Repeat("x", 2000), nil, "X-Request-Id", "req-first")
	entries, err := h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.NotContains(t, entries[0].Query, "SECRET")
	assert.Contains(t, entries[0].Query, "access_token=REDACTED")
	assert.LessOrEqual(t, len(entries[0].Query), scim.LoggedQueryBytes)

	for i := 0; i < 400; i++ {
		h.do(http.MethodGet, "/scim/v2/Users?count=1&filter="+strings.Repeat("y", 600), nil)
	}
	r := h.do(http.MethodGet, "/scim/v2/Users?count=2", nil, "X-Request-Id", "req-last")
	require.Equal(t, http.StatusOK, r.Code)
	entries, err = h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	var total int
	for _, e := range entries {
		data, err := json.Marshal(e)
		require.NoError(t, err)
		total += len(data) + 16
	}
	assert.LessOrEqual(t, total, cap, "the log stays under its cap")
	assert.Less(t, len(entries), 402)
	assert.NotEqual(t, "req-first", entries[0].RequestID, "the oldest went first")
	assert.Equal(t, "req-last", entries[len(entries)-1].RequestID, "the newest is kept")
}

// TestRateLimitIsThePeersNotTheNameItGives: new X-Scim-Client names do
// not buy new allowances.
func TestRateLimitIsThePeersNotTheNameItGives(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.RatePerClient = 1; c.Burst = 5 })
	limited := 0
	for i := 0; i < 40; i++ {
		r := h.do(http.MethodGet, "/scim/v2/Users?count=1", nil, scim.ClientHeader, "client-"+strings.Repeat("z", i%20)+string(rune('a'+i%26)))
		if r.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	assert.GreaterOrEqual(t, limited, 30, "40 requests in a moment, burst 5: most are limited whatever they call themselves")
}

// TestHealthzNamesNobody: while an offboarding runs, /healthz (no token)
// says the worker is busy offboarding, not whom.
func TestHealthzNamesNobody(t *testing.T) {
	be := gated()
	h := newHarness(t, be, func(c *scim.Config) { c.MutationWait = 50 * time.Millisecond })
	h.do(http.MethodPatch, "/scim/v2/Users/"+scim.UserID("ed@acme.test"), patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
	waitStarted(t, be, "offboard ed@acme.test")
	rec := h.health()
	assert.NotContains(t, rec.Body.String(), "ed@acme.test")
	assert.Contains(t, rec.Body.String(), `"busy":"offboard"`)
	assert.Contains(t, h.srv.Health().Busy, "ed@acme.test", "the service itself still knows")
	be.open()
	h.eventuallyActive(scim.UserID("ed@acme.test"), false)
}

// corrupt overwrites the store's pages after the two meta pages with
// garbage, as a failing disk or a bad restore would.
func corrupt(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	page := int64(os.Getpagesize())
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", int(page)/4))
	for off := 2 * page; off < fi.Size(); off += page {
		_, err := f.WriteAt(junk, off)
		require.NoError(t, err)
	}
}

// TestCorruptStore: a damaged scim.db is an error naming the file and
// what to do at start, never a panic; while serving, requests get an
// answer, /healthz says unavailable, and the worker stops with the same
// error instead of taking the process down.
func TestCorruptStore(t *testing.T) {
	t.Run("at start", func(t *testing.T) {
		be := newFakeBackend()
		h := newHarness(t, be)
		r := h.do(http.MethodGet, "/scim/v2/Users", nil)
		require.Equal(t, http.StatusOK, r.Code)
		h.stop()
		corrupt(t, h.cfg.StatePath)
		_, err := scim.New(h.cfg)
		require.ErrorIs(t, err, scim.ErrStoreCorrupt)
		assert.Contains(t, err.Error(), h.cfg.StatePath)
		assert.Contains(t, err.Error(), "restore it from a backup")
	})
	t.Run("while serving", func(t *testing.T) {
		be := newFakeBackend()
		h := newHarness(t, be, func(c *scim.Config) { c.MaxRosterAge = 20 * time.Millisecond; c.RatePerClient = 1e6; c.Burst = 1e6 })
		for _, e := range []string{"ed@acme.test", "ann@acme.test"} {
			r := h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID(e), nil)
			require.Equal(t, http.StatusOK, r.Code)
		}
		corrupt(t, h.cfg.StatePath)
		// requests are answered, never a dropped connection
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			r := h.do(http.MethodGet, "/scim/v2/Users?count=5", nil)
			if r.Code == http.StatusServiceUnavailable {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		r := h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("ed@acme.test"), nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.Code)
		rec := h.health()
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Contains(t, rec.Body.String(), "corrupt")
		select {
		case err := <-h.done:
			assert.ErrorIs(t, err, scim.ErrStoreCorrupt, "the worker stops with the store's error")
			h.done <- err
		case <-time.After(time.Minute):
			t.Fatal("the worker did not stop on the corrupt store")
		}
	})
}
