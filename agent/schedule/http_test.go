package schedule_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/agent/snapshot"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// samples parses the text exposition format into "name{labels}" → value.
func samples(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

func TestHealthz(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	mux := schedule.NewServeMux(h.runner, h.metrics)
	h.start()

	type body struct {
		Status      string    `json:"status"`
		Reason      string    `json:"reason"`
		LastError   string    `json:"last_error"`
		LastSuccess time.Time `json:"last_success"`
		NextRun     time.Time `json:"next_run"`
	}
	check := func(wantCode int) (body, map[string]any) {
		t.Helper()
		rec := get(t, mux, http.MethodGet, "/healthz")
		require.Equal(t, wantCode, rec.Code, rec.Body.String())
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var b body
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b))
		var raw map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
		return b, raw
	}

	// Nothing is due yet: healthy.
	b, raw := check(http.StatusOK)
	assert.Equal(t, "ok", b.Status)
	assert.Equal(t, t0.Add(time.Hour), b.NextRun)
	assert.NotContains(t, raw, "last_success")
	assert.NotContains(t, raw, "reason")

	// A failed run: 503 with the reason.
	h.tick(time.Hour)
	h.nextRun().fail(fmt.Errorf("list members: %w", errLogin))
	h.idle()
	b, _ = check(http.StatusServiceUnavailable)
	assert.Equal(t, "failing", b.Status)
	assert.Equal(t, "login required", b.Reason)
	assert.Equal(t, "list members: login required", b.LastError)

	// A successful run: healthy again.
	h.tick(time.Hour)
	h.nextRun().succeed(2, 1)
	h.idle()
	b, raw = check(http.StatusOK)
	assert.Equal(t, "ok", b.Status)
	assert.Equal(t, t0.Add(2*time.Hour), b.LastSuccess)
	assert.Equal(t, t0.Add(3*time.Hour), b.NextRun)
	assert.NotContains(t, raw, "last_error")

	assert.Equal(t, http.StatusMethodNotAllowed, get(t, mux, http.MethodPost, "/healthz").Code)
	assert.Equal(t, http.StatusNotFound, get(t, mux, http.MethodGet, "/").Code)
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	mux := schedule.NewServeMux(h.runner, h.metrics)
	h.start()

	m := samples(t, get(t, mux, http.MethodGet, "/metrics").Body.String())
	assert.Equal(t, 0.0, m["clay_agent_snapshot_runs_total"])
	assert.Equal(t, 0.0, m["clay_agent_snapshot_duration_seconds_count"])

	// A failure, two due times missed while a run is going, a success.
	h.tick(time.Hour)
	h.nextRun().fail(errLogin)
	h.idle()
	h.tick(time.Hour)
	r := h.nextRun()
	h.tick(time.Hour)
	h.tick(time.Hour)
	h.clock.Advance(12 * time.Second)
	r.succeed(5, 2)
	h.idle()
	// A run whose webhook failed still counts as a success.
	h.tick(time.Hour)
	h.nextRun().finish <- outcome{res: &snapshot.Result{WebhookErr: errors.New("HTTP 500")}}
	h.idle()

	rec := get(t, mux, http.MethodGet, "/metrics")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
	m = samples(t, rec.Body.String())
	want := map[string]float64{
		`clay_agent_snapshot_runs_total`:                              3,
		`clay_agent_snapshot_failures_total{reason="login required"}`: 1,
		`clay_agent_snapshot_missed_runs_total`:                       2,
		`clay_agent_members`:                                          5,
		`clay_agent_invitations`:                                      2,
		`clay_agent_snapshot_last_success_timestamp_seconds`:          float64(t0.Add(5*time.Hour + 12*time.Second).Unix()),
		`clay_agent_snapshot_duration_seconds_count`:                  3,
		`clay_agent_snapshot_duration_seconds_sum`:                    2*3600 + 12,
		`clay_agent_snapshot_duration_seconds_bucket{le="1"}`:         2,
		`clay_agent_snapshot_duration_seconds_bucket{le="+Inf"}`:      3,
		`clay_agent_webhook_failures_total`:                           1,
	}
	for name, v := range want {
		got, ok := m[name]
		if assert.True(t, ok, "missing %s", name) {
			assert.Equal(t, v, got, name)
		}
	}
	for name := range m {
		assert.False(t, strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_"),
			"only our own registry is served, found %s", name)
	}
}

// TestMetricsPublishTheAuditHead: each successful run replaces the audit
// head on /metrics; a log that does not verify removes it and counts.
func TestMetricsPublishTheAuditHead(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	mux := schedule.NewServeMux(h.runner, h.metrics)
	h.start()
	headA, headB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	infoA := schedule.MetricAuditHead + `{head="` + headA + `"}`
	infoB := schedule.MetricAuditHead + `{head="` + headB + `"}`

	steps := []struct {
		name     string
		audit    *snapshot.AuditHead
		err      error
		want     map[string]float64
		wantNone []string
	}{
		{name: "a head", audit: &snapshot.AuditHead{Log: "/a.jsonl", Head: headA, Records: 7},
			want: map[string]float64{infoA: 1, schedule.MetricAuditRecords: 7, schedule.MetricAuditFailures: 0}},
		{name: "the next head replaces it", audit: &snapshot.AuditHead{Log: "/a.jsonl", Head: headB, Records: 9},
			want: map[string]float64{infoB: 1, schedule.MetricAuditRecords: 9}, wantNone: []string{infoA}},
		{name: "a failed run changes nothing", err: errLogin,
			want: map[string]float64{infoB: 1, schedule.MetricAuditRecords: 9}},
		{name: "a log that does not verify", audit: &snapshot.AuditHead{Log: "/a.jsonl", Error: "line 3: prev does not match"},
			want: map[string]float64{schedule.MetricAuditFailures: 1, schedule.MetricAuditRecords: 9}, wantNone: []string{infoB}},
		{name: "no log", audit: nil,
			want: map[string]float64{schedule.MetricAuditFailures: 1}, wantNone: []string{infoA, infoB}},
	}
	for _, step := range steps {
		h.tick(time.Hour)
		r := h.nextRun()
		if step.err != nil {
			r.fail(step.err)
		} else {
			r.finish <- outcome{res: &snapshot.Result{Audit: step.audit}}
		}
		h.idle()
		m := samples(t, get(t, mux, http.MethodGet, "/metrics").Body.String())
		for name, v := range step.want {
			got, ok := m[name]
			if assert.True(t, ok, "%s: missing %s", step.name, name) {
				assert.Equal(t, v, got, "%s: %s", step.name, name)
			}
		}
		for _, name := range step.wantNone {
			assert.NotContains(t, m, name, step.name)
		}
	}
	assert.Contains(t, h.messages(zapcore.WarnLevel), "the audit log could not be verified; no head published")
}

func TestNewMetricsRefusesDuplicates(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := schedule.NewMetrics(reg)
	require.NoError(t, err)
	_, err = schedule.NewMetrics(reg)
	var are prometheus.AlreadyRegisteredError
	assert.ErrorAs(t, err, &are)
}

func TestServeMuxWithoutMetrics(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	mux := schedule.NewServeMux(h.runner, nil)
	assert.Equal(t, http.StatusOK, get(t, mux, http.MethodGet, "/healthz").Code)
	assert.Equal(t, http.StatusNotFound, get(t, mux, http.MethodGet, "/metrics").Code)
}
