package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/webhook"
)

// recorder is a test endpoint that answers with a scripted sequence of
// status codes (the last one repeats) and records what it received.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var body json.RawMessage
	_ = json.NewDecoder(req.Body).Decode(&body)
	r.bodies = append(r.bodies, body)
	r.headers = append(r.headers, req.Header.Clone())
	i := min(len(r.bodies)-1, len(r.statuses)-1)
	w.WriteHeader(r.statuses[i])
	_, _ = w.Write([]byte("status body"))
}

func (r *recorder) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// fast keeps retries in the millisecond range.
var fast = []webhook.Option{
	webhook.WithBackoff(time.Millisecond, 2*time.Millisecond),
	webhook.WithMaxDuration(5 * time.Second),
}

func TestPostRetries(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		maxAttempts  int
		wantAttempts int
		wantCode     int // 0: success
	}{
		{name: "ok first time", statuses: []int{200}, maxAttempts: 5, wantAttempts: 1},
		{name: "5xx then ok", statuses: []int{503, 502, 200}, maxAttempts: 5, wantAttempts: 3},
		{name: "429 then ok", statuses: []int{429, 204}, maxAttempts: 5, wantAttempts: 2},
		{name: "400 is not retried", statuses: []int{400, 200}, maxAttempts: 5, wantAttempts: 1, wantCode: 400},
		{name: "404 is not retried", statuses: []int{404, 200}, maxAttempts: 5, wantAttempts: 1, wantCode: 404},
		{name: "attempts are bounded", statuses: []int{500}, maxAttempts: 3, wantAttempts: 3, wantCode: 500},
		{name: "one attempt only", statuses: []int{503, 200}, maxAttempts: 1, wantAttempts: 1, wantCode: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{statuses: tt.statuses}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			c, err := webhook.New(srv.URL+"/hook", append(fast, webhook.WithMaxAttempts(tt.maxAttempts))...)
			require.NoError(t, err)

			err = c.Post(context.Background(), map[string]string{"text": "hello"})

			assert.Equal(t, tt.wantAttempts, rec.attempts())
			if tt.wantCode == 0 {
				require.NoError(t, err)
				return
			}
			var serr *webhook.StatusError
			require.ErrorAs(t, err, &serr)
			assert.Equal(t, tt.wantCode, serr.Code)
			assert.Equal(t, "status body", serr.Body)
		})
	}
}

func TestPostSendsJSON(t *testing.T) {
	rec := &recorder{statuses: []int{200}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := webhook.New(srv.URL, append(fast, webhook.WithHeader("Authorization", "Bearer t0k"))...)
	require.NoError(t, err)

	payload := struct {
		Text  string   `json:"text"`
		Added []string `json:"added"`
	}{Text: "1 added", Added: []string{"a@example.com"}}
	require.NoError(t, c.Post(context.Background(), payload))

	require.Len(t, rec.bodies, 1)
	assert.JSONEq(t, `{"text":"1 added","added":["a@example.com"]}`, string(rec.bodies[0]))
	assert.Equal(t, "application/json", rec.headers[0].Get("Content-Type"))
	assert.Equal(t, "Bearer t0k", rec.headers[0].Get("Authorization"))
}

func TestPostNetworkErrorIsRetriedAndRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/services/SECRET"
	srv.Close() // connections are now refused

	c, err := webhook.New(url, append(fast, webhook.WithMaxAttempts(3))...)
	require.NoError(t, err)
	err = c.Post(context.Background(), map[string]string{"text": "x"})

	require.Error(t, err)
	var serr *webhook.StatusError
	assert.False(t, errors.As(err, &serr))
	assert.Contains(t, err.Error(), "after 3 attempt(s)")
	assert.NotContains(t, err.Error(), "SECRET", "the URL's secret path stays out of errors")
}

func TestPostTotalTimeIsBounded(t *testing.T) {
	rec := &recorder{statuses: []int{503}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := webhook.New(srv.URL,
		webhook.WithMaxAttempts(1000),
		webhook.WithBackoff(5*time.Millisecond, 5*time.Millisecond),
		webhook.WithMaxDuration(40*time.Millisecond),
	)
	require.NoError(t, err)

	err = c.Post(context.Background(), map[string]string{"text": "x"})

	require.Error(t, err)
	assert.Less(t, rec.attempts(), 1000, "the maximum duration, not the attempts, stopped it (1000 attempts take at least 5s)")
	assert.Greater(t, rec.attempts(), 1)
	var serr *webhook.StatusError
	require.ErrorAs(t, err, &serr, "the last attempt's failure is kept: %v", err)
	assert.Equal(t, 503, serr.Code)
}

func TestPostCancelled(t *testing.T) {
	rec := &recorder{statuses: []int{200}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := webhook.New(srv.URL, fast...)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = c.Post(ctx, map[string]string{"text": "x"})

	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, rec.attempts())
}

func TestPostUnencodablePayload(t *testing.T) {
	c, err := webhook.New("https://hooks.example.com/x")
	require.NoError(t, err)
	err = c.Post(context.Background(), map[string]any{"f": func() {}})
	var uerr *json.UnsupportedTypeError
	assert.ErrorAs(t, err, &uerr)
}

func TestNew(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
	}{
		{url: "https://hooks.slack.com/services/T/B/X"},
		{url: "http://127.0.0.1:8080/hook"},
		{url: "  https://example.com/h  "},
		{url: "", wantErr: true},
		{url: "hooks.slack.com/services/T/B/X", wantErr: true},
		{url: "ftp://example.com/x", wantErr: true},
		{url: "https://", wantErr: true},
		{url: "http://[::1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := webhook.New(tt.url)
			if tt.wantErr {
				assert.ErrorIs(t, err, webhook.ErrInvalidURL)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, c)
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/services/…"},
		{"  https://hooks.slack.com/services/T000/B000/XXXXSECRET\n", "https://hooks.slack.com/services/…"},
		{"HTTPS://Hooks.Slack.com/services/T/B/X", "https://hooks.slack.com/services/…"},
		{"http://user:pw@host:9/x?token=1", "http://host:9/…"},
		{"https://user:pass@hooks.example.com", "https://hooks.example.com/…"},
		{"https://discord.com/api/webhooks/123/tok", "https://discord.com/api/…"},
		{"https://webhook.site/0e9b7a52-3c1f-4b8e-9a8e-7f1d2c3b4a5f", "https://webhook.site/…"},
		{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/…"},
		{"http://[::1]:8080/a/b", "http://[::1]:8080/a/…"},
		{"https://hooks.example.com", "https://hooks.example.com"},
		{"https://hooks.example.com/", "https://hooks.example.com"},
		{"https://hooks.example.com/?token=SECRET", "https://hooks.example.com/…"},
		{"https://hooks.example.com/a%2Fb/SECRET", "https://hooks.example.com/…"},
		{"https://hooks.slack.com/services/T0\t00/B000/SECRET", "https://hooks.slack.com/services/…"},
		{"https://us\ter:pa ss@hooks.slack.com/services/T/B/SECRET", "https://hooks.slack.com/services/…"},
		{"https://user:pa/ss@host/x", "https://…"},
		{"https://ho st/services/SECRET", "https://…"},
		{"hooks.slack.com/services/T/B/SECRET", "hooks.slack.com/services/…"},
		{"not a url", "<redacted>"},
		{"", "<redacted>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, webhook.Redact(tt.in))
		})
	}
	c, err := webhook.New("https://hooks.slack.com/services/T/B/SECRET")
	require.NoError(t, err)
	assert.Equal(t, "https://hooks.slack.com/services/…", c.String())
}

// secretURLParts are the parts of secretURL that must never be printed.
var secretURLParts = []string{"hunter2", "alice", "T0SECRET", "B0SECRET", "XXXXSECRETTOKEN", "sig=", "SIGSECRET"}

// secretURL has a password, a token-like path and a signed query.
const secretURL = "https://alice:hunter2@hooks.slack.com/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN?sig=SIGSECRET"

func assertNoSecrets(t *testing.T, msg string) {
	t.Helper()
	for _, s := range secretURLParts {
		assert.NotContains(t, msg, s)
	}
}

func TestNewErrorsDoNotEchoTheURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{name: "a tab", url: strings.Replace(secretURL, "XXXX", "XX\tXX", 1), want: "invalid control character in URL"},
		{name: "a space in the host", url: "https://alice:hunter2@hooks slack.com/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN", want: "invalid"},
		{name: "a password that looks like a port", url: "https://alice:hunter2/x@hooks.slack.com/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN", want: "invalid port"},
		{name: "a bad escape", url: "https://alice:hunter2@hooks.slack.com/services/T0SECRET/%zzSECRETTOKEN", want: "invalid URL escape"},
		{name: "not http", url: "ftp://alice:hunter2@hooks.slack.com/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN", want: `got "ftp://hooks.slack.com/services/…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := webhook.New(tt.url)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, webhook.ErrInvalidURL)
			assert.Contains(t, err.Error(), tt.want)
			assertNoSecrets(t, err.Error())
			assertNoSecrets(t, fmt.Sprintf("%+v %#v", err, err.Error()))
		})
	}
	// The cause is still there for errors.As.
	_, err := webhook.New("https://alice:hunter2@host:80x/")
	var uerr *url.Error
	assert.False(t, errors.As(err, &uerr), "the *url.Error, which prints the URL, is dropped")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestPostErrorsDoNotEchoTheURL(t *testing.T) {
	// A server that quotes the request's path in its error page.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cannot POST "+r.URL.RequestURI(), http.StatusNotFound)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	secretPath := "/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN?sig=SIGSECRET"

	c, err := webhook.New("http://alice:hunter2@"+host+secretPath, fast...)
	require.NoError(t, err)
	err = c.Post(context.Background(), map[string]string{"text": "x"})
	var serr *webhook.StatusError
	require.ErrorAs(t, err, &serr)
	assert.Equal(t, http.StatusNotFound, serr.Code)
	assert.Contains(t, serr.Body, "Cannot POST")
	assertNoSecrets(t, err.Error())
	assert.Contains(t, err.Error(), "http://"+host+"/services/…")

	// A refused connection: net/http's *url.Error names the URL.
	srv.Close()
	c, err = webhook.New("http://alice:hunter2@"+host+secretPath, append(fast, webhook.WithMaxAttempts(2))...)
	require.NoError(t, err)
	err = c.Post(context.Background(), map[string]string{"text": "x"})
	require.Error(t, err)
	assertNoSecrets(t, err.Error())
	var uerr *url.Error
	require.ErrorAs(t, err, &uerr, "the cause is kept")
	assert.Equal(t, "http://"+host+"/services/…", uerr.URL)
	var opErr *net.OpError
	assert.ErrorAs(t, err, &opErr, "down to the network error")

	// A cancelled context is still a cancelled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = c.Post(ctx, map[string]string{"text": "x"})
	assert.ErrorIs(t, err, context.Canceled)
}
