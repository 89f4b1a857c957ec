// Package webhook posts JSON payloads to an HTTP endpoint, such as a Slack
// incoming webhook, retrying transient failures with bounded exponential
// backoff and jitter.
//
// Network errors, 5xx responses and 429 Too Many Requests are retried; any
// other non-2xx response is final. Retries stop after a maximum number of
// attempts or a maximum total duration, whichever comes first.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sethvargo/go-retry"
)

// Defaults for the retry policy and the HTTP client.
const (
	DefaultMaxAttempts = 5
	DefaultMaxDuration = 30 * time.Second
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultMaxDelay    = 8 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// EnvURL is the environment variable the CLI reads the webhook URL from
// when no flag gives one.
const EnvURL = "CLAY_WEBHOOK"

// maxErrorBody bounds how much of a failed response's body is kept in the
// error.
const maxErrorBody = 512

// ErrInvalidURL is returned by New for a URL that is not absolute http(s).
var ErrInvalidURL = errors.New("invalid webhook URL")

// StatusError is a non-2xx response. Use errors.As to get it from the error
// returned by Post.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the start of the response body, for diagnosis.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook: HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Retryable reports whether the status is worth retrying: 5xx and 429.
func (e *StatusError) Retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests
}

// Client posts payloads to one URL. It is safe for concurrent use.
type Client struct {
	url         string
	httpClient  *http.Client
	maxAttempts int
	maxDuration time.Duration
	baseDelay   time.Duration
	maxDelay    time.Duration
	header      http.Header
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client. The default has a 10s timeout per
// attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithMaxAttempts bounds the number of attempts, the first included.
// Values below 1 mean 1.
func WithMaxAttempts(n int) Option {
	return func(c *Client) { c.maxAttempts = max(n, 1) }
}

// WithMaxDuration bounds the total time Post spends, waits included.
func WithMaxDuration(d time.Duration) Option {
	return func(c *Client) { c.maxDuration = d }
}

// WithBackoff sets the delay before the first retry (base) and the largest
// delay between two attempts (maxDelay). Delays double from base and get
// ±25% jitter.
func WithBackoff(base, maxDelay time.Duration) Option {
	return func(c *Client) {
		c.baseDelay = base
		c.maxDelay = maxDelay
	}
}

// WithHeader adds a header to every request, e.g. an authorization token.
func WithHeader(key, value string) Option {
	return func(c *Client) { c.header.Add(key, value) }
}

// New returns a Client for rawURL, which must be an absolute http or https
// URL.
func New(rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: want an absolute http(s) URL, got %q", ErrInvalidURL, Redact(rawURL))
	}
	c := &Client{
		url:         u.String(),
		httpClient:  &http.Client{Timeout: DefaultTimeout},
		maxAttempts: DefaultMaxAttempts,
		maxDuration: DefaultMaxDuration,
		baseDelay:   DefaultBaseDelay,
		maxDelay:    DefaultMaxDelay,
		header:      make(http.Header),
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// String returns the URL with its path and query hidden: webhook URLs
// usually carry a secret.
func (c *Client) String() string { return Redact(c.url) }

// Redact returns rawURL reduced to its scheme and host, for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// backoff returns a fresh backoff policy; policies are stateful, so every
// Post needs its own.
func (c *Client) backoff() retry.Backoff {
	b := retry.NewExponential(max(c.baseDelay, time.Nanosecond))
	b = retry.WithJitterPercent(25, b)
	if c.maxDelay > 0 {
		b = retry.WithCappedDuration(c.maxDelay, b)
	}
	if c.maxDuration > 0 {
		b = retry.WithMaxDuration(c.maxDuration, b)
	}
	return retry.WithMaxRetries(uint64(c.maxAttempts-1), b)
}

// Post sends payload as a JSON body. It retries network errors, 5xx and
// 429 responses until the attempts or the time run out, and returns the
// last error, wrapped with the number of attempts made. A non-2xx response
// is reported as a *StatusError.
func (c *Client) Post(ctx context.Context, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("webhook: encode payload: %w", err)
	}
	if c.maxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.maxDuration)
		defer cancel()
	}
	var (
		attempts int
		lastErr  error // of the last attempt the context did not cut short
	)
	err = retry.Do(ctx, c.backoff(), func(ctx context.Context) error {
		attempts++
		retryable, err := c.attempt(ctx, body)
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		if retryable {
			return retry.RetryableError(err)
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case lastErr != nil && !errors.Is(err, lastErr):
		// The context ended during a wait or an attempt: keep the reason
		// the last complete attempt failed as well.
		return fmt.Errorf("webhook: post to %s failed after %d attempt(s): %w (last attempt: %w)", c, attempts, err, lastErr)
	default:
		return fmt.Errorf("webhook: post to %s failed after %d attempt(s): %w", c, attempts, err)
	}
}

// attempt makes one request and reports whether its error is worth
// retrying.
func (c *Client) attempt(ctx context.Context, body []byte) (retryable bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook: build request: %w", err)
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// The URL usually carries a secret; keep it out of error messages.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			uerr.URL = Redact(uerr.URL)
		}
		// Once the context has ended, retrying cannot help.
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	serr := &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
	return serr.Retryable(), serr
}
