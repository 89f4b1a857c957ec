package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
)

// response is an HTTP answer with status and body.
func response(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}
}

func TestRunHealthcheck(t *testing.T) {
	const target = "http://127.0.0.1:8080/healthz"
	errRefused := errors.New("dial tcp 127.0.0.1:8080: connect: connection refused")
	tests := []struct {
		name    string
		answer  func(*http.Request) (*http.Response, error)
		timeout time.Duration
		stdout  string
		want    []string // substrings of the error; none for success
	}{
		{name: "200", answer: func(*http.Request) (*http.Response, error) { return response(http.StatusOK, `{"status":"ok"}`), nil },
			stdout: "ok: " + target + ": HTTP 200 OK\n"},
		{name: "503 with a reason", answer: func(*http.Request) (*http.Response, error) {
			return response(http.StatusServiceUnavailable, `{"reason":"login required","last_error":"list:\nsigned out"}`), nil
		}, want: []string{"healthcheck: " + target + ": HTTP 503 Service Unavailable: login required (list: signed out)"}},
		{name: "500 with text", answer: func(*http.Request) (*http.Response, error) {
			return response(http.StatusInternalServerError, "on fire\nmore"), nil
		}, want: []string{"HTTP 500 Internal Server Error: on fire"}},
		{name: "no connection", answer: func(*http.Request) (*http.Response, error) { return nil, errRefused },
			want: []string{"connection refused"}},
		{name: "no answer in time", timeout: 20 * time.Millisecond, answer: func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}, want: []string{target + ": no answer within 20ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []*http.Request
			s, out, errOut := testStreams("")
			opts := &healthcheckOptions{streams: s, url: target, timeout: tc.timeout,
				client: doerFunc(func(r *http.Request) (*http.Response, error) {
					got = append(got, r)
					return tc.answer(r)
				})}
			if opts.timeout == 0 {
				opts.timeout = time.Second
			}
			err := healthcheckRun(context.Background(), opts)
			require.Len(t, got, 1, "one request")
			assert.Equal(t, http.MethodGet, got[0].Method)
			assert.Equal(t, target, got[0].URL.String())
			_, hasDeadline := got[0].Context().Deadline()
			assert.True(t, hasDeadline, "the request is bounded by --timeout")
			assert.Empty(t, errOut.String(), "the run prints no error itself")
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.stdout, out.String())
				return
			}
			require.Error(t, err)
			assert.Equal(t, exitFailed, exitCode(err))
			assert.Empty(t, out.String())
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestHealthcheckOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		ok      bool
	}{
		{"http", "http://127.0.0.1:8080/healthz", time.Second, true},
		{"https", "https://agent.example/healthz", time.Second, true},
		{"no scheme", "127.0.0.1:8080/healthz", time.Second, false},
		{"ftp", "ftp://127.0.0.1/healthz", time.Second, false},
		{"no host", "http:///healthz", time.Second, false},
		{"zero timeout", "http://127.0.0.1:8080/healthz", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&healthcheckOptions{url: tc.url, timeout: tc.timeout}).validate()
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, agent.ErrUsage)
		})
	}
}
