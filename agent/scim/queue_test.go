package scim_test

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

// gated returns a backend whose mutations wait at a gate, and reports
// each one as it begins.
func gated() *fakeBackend {
	be := newFakeBackend()
	be.gate = make(chan struct{})
	be.started = make(chan string, 16)
	return be
}

func (b *fakeBackend) open() {
	b.mu.Lock()
	gate := b.gate
	b.gate, b.started = nil, nil
	b.mu.Unlock()
	close(gate)
}

func waitStarted(t *testing.T, be *fakeBackend, what string) {
	t.Helper()
	select {
	case got := <-be.started:
		require.Equal(t, what, got)
	case <-time.After(time.Minute):
		t.Fatalf("%s did not start", what)
	}
}

// eventually waits for the user id to be active (or not).
func (h *harness) eventuallyActive(id string, active bool) response {
	h.t.Helper()
	var r response
	require.Eventually(h.t, func() bool {
		r = h.do(http.MethodGet, "/scim/v2/Users/"+id, nil)
		return r.Code == http.StatusOK && r.body["active"] == active
	}, time.Minute, 10*time.Millisecond)
	return r
}

func TestSlowActionAnswers503AndCompletesOnce(t *testing.T) {
	be := gated()
	h := newHarness(t, be, func(c *scim.Config) { c.MutationWait = 100 * time.Millisecond })
	body := oktaUser("nia@acme.test", "nia@acme.test", "Nia", "Long", "00u9")

	r := h.do(http.MethodPost, "/scim/v2/Users", body)
	requireError(t, r, http.StatusServiceUnavailable, "")
	assert.Equal(t, "1", r.Header().Get("Retry-After"))
	waitStarted(t, be, "invite nia@acme.test")

	be.open()
	id := scim.UserID("nia@acme.test")
	h.eventuallyActive(id, true)

	// The client retries its POST: the finished job answers it.
	r = h.do(http.MethodPost, "/scim/v2/Users", body)
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, id, r.str("id"))
	assert.Equal(t, 1, be.callCount("invite nia@acme.test"))
	assert.Equal(t, 1, be.actCount("invite nia@acme.test"))
	// That answer was delivered: another POST is a new request for a user
	// who exists.
	requireError(t, h.do(http.MethodPost, "/scim/v2/Users", body), http.StatusConflict, "uniqueness")
	assert.Equal(t, 1, be.callCount("invite nia@acme.test"))
}

func TestRepeatedRequestJoinsPendingJob(t *testing.T) {
	be := gated()
	h := newHarness(t, be, func(c *scim.Config) { c.MutationWait = 50 * time.Millisecond })
	body := oktaUser("omar@acme.test", "omar@acme.test", "Omar", "Diaz", "00u8")
	id := scim.UserID("omar@acme.test")

	requireError(t, h.do(http.MethodPost, "/scim/v2/Users", body), http.StatusServiceUnavailable, "")
	waitStarted(t, be, "invite omar@acme.test")
	// Repeats while the job runs join it.
	for range 3 {
		requireError(t, h.do(http.MethodPost, "/scim/v2/Users", body), http.StatusServiceUnavailable, "")
	}
	// A deactivation queues behind it, and its repeats join that one.
	deactivate := patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	for range 3 {
		requireError(t, h.do(http.MethodPatch, "/scim/v2/Users/"+id, deactivate), http.StatusServiceUnavailable, "")
	}
	assert.Equal(t, 2.0, metricValue(t, h, scim.MetricQueueDepth))

	be.open()
	h.eventuallyActive(id, false)
	// The answer may say inactive while the queued deactivation still
	// runs: wait for the backend to have done it.
	require.Eventually(t, func() bool { return !be.present("omar@acme.test") }, time.Minute, 10*time.Millisecond)
	assert.Equal(t, 1, be.callCount("invite omar@acme.test"))
	assert.Equal(t, 1, be.callCount("offboard omar@acme.test"))

	// The request log tells which requests queued and which joined.
	entries, err := h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	queued, joined := 0, 0
	for _, e := range entries {
		for _, j := range e.Jobs {
			if j.Joined {
				joined++
			} else {
				queued++
			}
		}
	}
	assert.Equal(t, 2, queued)
	assert.Equal(t, 5, joined)
}

// metricValue returns the value of the series of the metric name with
// the labels given as name, value pairs.
func metricValue(t *testing.T, h *harness, name string, labels ...string) float64 {
	t.Helper()
	families, err := h.cfg.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series of %s with %v", name, labels)
	return 0
}

func TestRestartResumesJobsExactlyOnce(t *testing.T) {
	be := gated()
	h1 := newHarness(t, be, func(c *scim.Config) { c.MutationWait = 50 * time.Millisecond })

	requireError(t, h1.do(http.MethodPost, "/scim/v2/Users", oktaUser("pia@acme.test", "pia@acme.test", "Pia", "Lund", "1")), http.StatusServiceUnavailable, "")
	waitStarted(t, be, "invite pia@acme.test")
	requireError(t, h1.do(http.MethodPost, "/scim/v2/Users", oktaUser("quinn@acme.test", "quinn@acme.test", "Quinn", "Ng", "2")), http.StatusServiceUnavailable, "")

	// The process dies while the first job is in the backend: its store
	// closes, then the action completes on the page but cannot be
	// recorded.
	h1.cancel()
	require.NoError(t, h1.srv.Close())
	be.open()
	select {
	case err := <-h1.done:
		require.ErrorIs(t, err, scim.ErrClosed)
	case <-time.After(time.Minute):
		t.Fatal("the worker did not stop")
	}
	h1.cancel = nil
	assert.Equal(t, 1, be.actCount("invite pia@acme.test"))
	assert.Equal(t, 0, be.callCount("invite quinn@acme.test"))

	cfg := h1.cfg
	cfg.Registry = prometheus.NewRegistry()
	h2 := startHarness(t, be, cfg, h1.logs)
	h2.eventuallyActive(scim.UserID("quinn@acme.test"), true)
	r := h2.eventuallyActive(scim.UserID("pia@acme.test"), true)
	assert.Equal(t, true, ext(r)["pending"])

	assert.Equal(t, 2, be.callCount("invite pia@acme.test"), "the running job is done again")
	assert.Equal(t, 1, be.actCount("invite pia@acme.test"), "and acts once")
	assert.Equal(t, 1, be.callCount("invite quinn@acme.test"), "the queued job is done once")
	assert.Equal(t, 1, be.actCount("invite quinn@acme.test"))
	assert.NotEmpty(t, h2.logs.FilterMessage("resuming a job left by the previous process").All())
}

func TestBreakerTripsAfterTooManyRemovals(t *testing.T) {
	be := newFakeBackend()
	for i := range 5 {
		be.addMember("m"+strconv.Itoa(i)+"@acme.test", "M", roster.Editor, false)
	}
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var trips []string
	h := newHarness(t, be, func(c *scim.Config) {
		c.MaxRemovalsPerHour = 2
		c.Now = clock
		c.OnTrip = func(reason string) { mu.Lock(); trips = append(trips, reason); mu.Unlock() }
	})
	tripCount := func() int { mu.Lock(); defer mu.Unlock(); return len(trips) }
	deactivate := patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	user := func(i int) string { return "/scim/v2/Users/" + scim.UserID("m"+strconv.Itoa(i)+"@acme.test") }

	require.Equal(t, http.StatusOK, h.do(http.MethodPatch, user(0), deactivate).Code)
	advance(10 * time.Minute)
	require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, user(1), nil).Code)

	r := h.do(http.MethodPatch, user(2), deactivate)
	requireError(t, r, http.StatusServiceUnavailable, "")
	assert.Equal(t, "deprovisioning paused: more than 2 removals in the last hour", r.body["detail"])
	assert.Equal(t, "3000", r.Header().Get("Retry-After"), "until the first removal leaves the window")
	requireError(t, h.do(http.MethodDelete, user(3), nil), http.StatusServiceUnavailable, "")
	body := oktaUser("m4@acme.test", "m4@acme.test", "M", "Four", "")
	body["active"] = false
	requireError(t, h.do(http.MethodPut, user(4), body), http.StatusServiceUnavailable, "")
	assert.Equal(t, 1, tripCount())
	assert.Equal(t, 0, be.callCount("offboard m2@acme.test")+be.callCount("offboard m3@acme.test")+be.callCount("offboard m4@acme.test"))
	assert.True(t, be.present("m2@acme.test"))

	// Reads, invitations and role changes go on; health says why not.
	assert.Len(t, resources(t, h.do(http.MethodGet, "/scim/v2/Users", nil)), 8)
	require.Equal(t, http.StatusCreated, h.do(http.MethodPost, "/scim/v2/Users", oktaUser("new@acme.test", "new@acme.test", "N", "U", "")).Code)
	health := h.health()
	assert.Equal(t, http.StatusServiceUnavailable, health.Code)
	assert.Contains(t, health.Body.String(), "deprovisioning paused")
	assert.Equal(t, 1.0, metricValue(t, h, scim.MetricBreakerOpen))

	// The window slides past the first removal: one more is allowed.
	advance(50 * time.Minute)
	require.Equal(t, http.StatusOK, h.do(http.MethodPatch, user(2), deactivate).Code)
	assert.Equal(t, 0.0, metricValue(t, h, scim.MetricBreakerOpen))
	requireError(t, h.do(http.MethodPatch, user(3), deactivate), http.StatusServiceUnavailable, "")
	assert.Equal(t, 2, tripCount(), "a new trip")
	requireError(t, h.do(http.MethodPatch, user(3), deactivate), http.StatusServiceUnavailable, "")
	assert.Equal(t, 2, tripCount())
}

func TestBreakerSurvivesRestart(t *testing.T) {
	be := newFakeBackend()
	be.addMember("a1@acme.test", "A", roster.Editor, false)
	be.addMember("a2@acme.test", "A", roster.Editor, false)
	h1 := newHarness(t, be, func(c *scim.Config) { c.MaxRemovalsPerHour = 1 })
	require.Equal(t, http.StatusNoContent, h1.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("a1@acme.test"), nil).Code)
	h1.stop()

	cfg := h1.cfg
	cfg.Registry = prometheus.NewRegistry()
	h2 := startHarness(t, be, cfg, h1.logs)
	requireError(t, h2.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("a2@acme.test"), nil), http.StatusServiceUnavailable, "")
}

func TestBreakerStopsQueuedRemovals(t *testing.T) {
	be := gated()
	be.addMember("b1@acme.test", "B", roster.Editor, false)
	be.addMember("b2@acme.test", "B", roster.Editor, false)
	var trips atomic.Int32
	h := newHarness(t, be, func(c *scim.Config) {
		c.MaxRemovalsPerHour = 1
		c.MutationWait = 50 * time.Millisecond
		c.OnTrip = func(string) { trips.Add(1) }
	})
	requireError(t, h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("b1@acme.test"), nil), http.StatusServiceUnavailable, "")
	waitStarted(t, be, "offboard b1@acme.test")
	// Queued before the first removal is counted.
	requireError(t, h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("b2@acme.test"), nil), http.StatusServiceUnavailable, "")
	be.open()
	require.Eventually(t, func() bool { return trips.Load() == 1 }, time.Minute, 10*time.Millisecond)
	assert.Equal(t, 0, be.callCount("offboard b2@acme.test"))
	r := h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("b2@acme.test"), nil)
	requireError(t, r, http.StatusServiceUnavailable, "")
	assert.Contains(t, r.body["detail"], "deprovisioning paused")
	assert.EqualValues(t, 1, trips.Load())
}

func TestDryRunNeverCallsTheBackend(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.DryRun = true })

	r := h.do(http.MethodPost, "/scim/v2/Users", oktaUser("dry@acme.test", "dry@acme.test", "D", "R", "x"))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, true, r.body["active"])
	id := r.str("id")
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+scim.UserID("ed@acme.test"), patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin",
		patchOps(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})).Code)
	require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("ann@acme.test"), nil).Code)

	assert.Zero(t, be.mutations())
	assert.True(t, be.present("ed@acme.test"))
	assert.True(t, be.present("ann@acme.test"))
	assert.False(t, be.present("dry@acme.test"))
	assert.NotEmpty(t, h.logs.FilterMessage("dry run: no action taken").All())
	assert.Contains(t, h.health().Body.String(), `"dry_run":true`)
}

func TestFailedActionsMapToStatuses(t *testing.T) {
	be := newFakeBackend()
	be.refuse["blocked@other.test"] = errors.New("outside allowed domains")
	h := newHarness(t, be)

	// A refusal by a safety rule: 403.
	r := h.do(http.MethodPost, "/scim/v2/Users", oktaUser("blocked@other.test", "blocked@other.test", "B", "O", ""))
	requireError(t, r, http.StatusForbidden, "")
	assert.Contains(t, r.body["detail"], "outside allowed domains")
	// Offboarding the signed-in user is refused too.
	r = h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("owner@acme.test"), nil)
	requireError(t, r, http.StatusForbidden, "")
	assert.Contains(t, r.body["detail"], "signed-in user")
	// The user stays.
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("owner@acme.test"), nil).Code)
}

func TestRosterFailureAnswers(t *testing.T) {
	be := newFakeBackend()
	be.rosterErr = errors.New("browser crashed")
	h := newHarness(t, be)
	r := h.do(http.MethodGet, "/scim/v2/Users", nil)
	requireError(t, r, http.StatusBadGateway, "")
	assert.Contains(t, r.body["detail"], "browser crashed")
	health := h.health()
	assert.Equal(t, http.StatusServiceUnavailable, health.Code)
	assert.Contains(t, health.Body.String(), "the last roster read failed")
	// Discovery does not need the roster.
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil).Code)
}

func TestBackendPanicFailsTheJobOnly(t *testing.T) {
	be := newFakeBackend()
	be.panicOn = "invite boom@acme.test"
	h := newHarness(t, be)
	r := h.do(http.MethodPost, "/scim/v2/Users", oktaUser("boom@acme.test", "boom@acme.test", "B", "M", ""))
	requireError(t, r, http.StatusBadGateway, "")
	assert.Contains(t, r.body["detail"], "panicked")
	r = h.do(http.MethodPost, "/scim/v2/Users", oktaUser("fine@acme.test", "fine@acme.test", "F", "N", ""))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.True(t, h.srv.Health().Worker)
}

func TestRepeatsAfterTheJobFinished(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	ann := "/scim/v2/Users/" + scim.UserID("ann@acme.test")
	require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, ann, nil).Code)
	requireError(t, h.do(http.MethodDelete, ann, nil), http.StatusNotFound, "")
	requireError(t, h.do(http.MethodGet, ann, nil), http.StatusNotFound, "")
	assert.Equal(t, 1, be.callCount("offboard ann@acme.test"))

	// A POST for a deactivated user invites them again, in the same resource.
	ed := scim.UserID("ed@acme.test")
	r := h.do(http.MethodPatch, "/scim/v2/Users/"+ed, patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	created := r.body["meta"].(map[string]any)["created"]
	r = h.do(http.MethodPost, "/scim/v2/Users", oktaUser("ed@acme.test", "ed@acme.test", "Ed", "Editor", "00uED"))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, ed, r.str("id"))
	assert.Equal(t, created, r.body["meta"].(map[string]any)["created"])
	assert.Equal(t, map[string]any{"pending": true, "role": "Editor", "email": "ed@acme.test"}, ext(r))
	assert.Equal(t, 1, be.actCount("invite ed@acme.test"))
}

func TestRequestsFollowPendingJobs(t *testing.T) {
	be := gated()
	h := newHarness(t, be, func(c *scim.Config) { c.MutationWait = 50 * time.Millisecond })
	ed := "/scim/v2/Users/" + scim.UserID("ed@acme.test")
	off := patchOps(map[string]any{"op": "replace", "path": "active", "value": false})
	on := patchOps(map[string]any{"op": "replace", "path": "active", "value": true})

	requireError(t, h.do(http.MethodPatch, ed, off), http.StatusServiceUnavailable, "")
	waitStarted(t, be, "offboard ed@acme.test")
	// The user is still active in the store, but will not be: reactivating
	// queues an invitation after the removal.
	requireError(t, h.do(http.MethodPatch, ed, on), http.StatusServiceUnavailable, "")
	// A role change for the user who will be invited again follows both:
	// the invitation is revoked and sent again with the role.
	requireError(t, h.do(http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": scim.SchemaClayUser + ":role", "value": "Viewer"})),
		http.StatusServiceUnavailable, "")
	be.open()
	require.Eventually(t, func() bool {
		r := h.do(http.MethodGet, ed, nil)
		return r.body["active"] == true && ext(r)["role"] == "Viewer"
	}, time.Minute, 10*time.Millisecond)
	assert.Equal(t, 1, be.callCount("offboard ed@acme.test"))
	assert.Equal(t, 2, be.callCount("invite ed@acme.test"))
	assert.Equal(t, 1, be.actCount("revoke ed@acme.test"))
	assert.Zero(t, be.callCount("set-role ed@acme.test"))
	inv, ok := be.invitation("ed@acme.test")
	require.True(t, ok)
	assert.Equal(t, roster.Viewer, inv.Role)
}
