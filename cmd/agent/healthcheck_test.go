package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHealthcheck(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("/failing", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"failing","reason":"login required","last_error":"snapshot: list: login required:\nthe page showed a login form"}`))
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database on fire\nsecond line", http.StatusInternalServerError)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		want    []string // substrings of the one stderr line
		maxTime time.Duration
	}{
		{name: "200", args: []string{"--url", srv.URL + "/ok"}, code: exitOK, stdout: "ok: " + srv.URL + "/ok: HTTP 200 OK\n"},
		{name: "redirect to 200", args: []string{"--url", srv.URL + "/redirect"}, code: exitOK, stdout: "ok: " + srv.URL + "/redirect: HTTP 200 OK\n"},
		{name: "503 with a /healthz reason", args: []string{"--url", srv.URL + "/failing"}, code: exitFailed,
			want: []string{"HTTP 503 Service Unavailable", "login required", "the page showed a login form"}},
		{name: "500 with a text body", args: []string{"--url", srv.URL + "/plain"}, code: exitFailed,
			want: []string{"HTTP 500 Internal Server Error: database on fire"}},
		{name: "404", args: []string{"--url", srv.URL + "/nothing"}, code: exitFailed, want: []string{"HTTP 404 Not Found"}},
		{name: "no server", args: []string{"--url", closedURL + "/healthz"}, code: exitFailed, want: []string{"connection refused"}},
		{name: "no answer in time", args: []string{"--url", srv.URL + "/slow", "--timeout", "200ms"}, code: exitFailed,
			want: []string{"no answer within 200ms"}, maxTime: time.Minute}, // /slow never answers
		{name: "not a URL", args: []string{"--url", "127.0.0.1:8080/healthz"}, code: exitUsage, want: []string{"not an absolute http(s) URL"}},
		{name: "not http", args: []string{"--url", "ftp://127.0.0.1/healthz"}, code: exitUsage, want: []string{"not an absolute http(s) URL"}},
		{name: "zero timeout", args: []string{"--url", srv.URL + "/ok", "--timeout", "0s"}, code: exitUsage, want: []string{"--timeout must be positive"}},
		{name: "positional argument", args: []string{srv.URL + "/ok"}, code: exitUsage, want: []string{"takes no arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := runApp(t.Context(), nil, "", append([]string{"healthcheck"}, tc.args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			if tc.code == exitOK {
				assert.Equal(t, tc.stdout, r.stdout)
				assert.Empty(t, r.stderr)
				return
			}
			assert.Empty(t, r.stdout)
			r.oneErrorLine(t, tc.want...)
			if tc.maxTime > 0 {
				assert.Less(t, time.Since(start), tc.maxTime)
			}
		})
	}
}

func TestHealthReason(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"reason only", `{"status":"failing","reason":"page changed"}`, "page changed"},
		{"reason and error", `{"reason":"timeout","last_error":"step timed out:  list"}`, "timeout (step timed out: list)"},
		{"error only", `{"last_error":"boom"}`, "boom"},
		{"JSON without either", `{"status":"failing"}`, `{"status":"failing"}`},
		{"text, first line", "bad gateway\nupstream: x", "bad gateway"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, healthReason([]byte(tc.body)))
		})
	}
}
