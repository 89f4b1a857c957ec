// Package webhook posts JSON payloads to an HTTP endpoint, such as a Slack
// incoming webhook, retrying transient failures with bounded exponential
// backoff and jitter.
//
// Network errors, 5xx responses and 429 Too Many Requests are retried; any
// other non-2xx response is final. Retries stop after a maximum number of
// attempts or a maximum total duration, whichever comes first.
//
// A webhook URL usually holds a secret in its path, query or user
// information. The package never prints one: errors, String and Redact
// show at most the scheme, the host and the first segment of the path.
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
	"regexp"
	"slices"
	"strconv"
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
// URL. Its errors show the URL only as Redact does.
func New(rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		// *url.Error's message repeats the whole URL: keep its cause only,
		// with the URL's secrets taken out of its message.
		cause := err
		var uerr *url.Error
		if errors.As(err, &uerr) {
			cause = uerr.Err
		}
		return nil, fmt.Errorf("%w: %s does not parse: %w", ErrInvalidURL, Redact(rawURL), redactError(cause, rawURL))
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

// String returns the URL as Redact does: webhook URLs usually carry a
// secret.
func (c *Client) String() string { return Redact(c.url) }

// redacted is what Redact returns when it can show nothing of a URL.
const redacted = "<redacted>"

// Patterns of the parts of a URL that Redact shows.
var (
	schemeRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)
	hostRE    = regexp.MustCompile(`^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
)

// urlParts is a URL split the way Redact needs, without url.Parse, so
// that strings that do not parse (a tab, a space) split too.
type urlParts struct {
	scheme   string // as written; "" when there is none
	userinfo string // before the last "@" of the authority
	host     string // host and port
	segments []string
	query    string // after "?", fragment excluded
	fragment string // after "#"
}

func splitURL(raw string) urlParts {
	var p urlParts
	s := strings.TrimSpace(raw)
	if i := strings.Index(s, "://"); i >= 0 {
		p.scheme, s = s[:i], s[i+3:]
	}
	end := strings.IndexAny(s, "/?#\\")
	if end < 0 {
		end = len(s)
	}
	auth, rest := s[:end], s[end:]
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		p.userinfo, auth = auth[:at], auth[at+1:]
	}
	p.host = auth
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, p.fragment = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, p.query = rest[:i], rest[i+1:]
	}
	for seg := range strings.FieldsFuncSeq(rest, func(r rune) bool { return r == '/' || r == '\\' }) {
		p.segments = append(p.segments, seg)
	}
	return p
}

// shownSegment reports whether Redact shows the first path segment: only
// when more of the path follows it (a path of one segment may be the
// secret itself) and it looks like a plain name.
func (p urlParts) shownSegment() bool {
	return len(p.segments) >= 2 && segmentRE.MatchString(p.segments[0])
}

// Redact returns rawURL reduced to what is safe to print: its scheme, its
// host and port, and the first segment of its path when more of the path
// follows, then "…" for anything left out, e.g.
// "https://hooks.slack.com/services/…". It never shows user information,
// a query, a fragment or the rest of the path. It works on strings that do
// not parse as URLs; when it cannot tell a host, it shows the scheme alone
// ("https://…"), or "<redacted>" without one.
func Redact(rawURL string) string {
	p := splitURL(rawURL)
	scheme := ""
	if schemeRE.MatchString(p.scheme) {
		scheme = strings.ToLower(p.scheme) + "://"
	}
	if len(p.host) > 260 || !hostRE.MatchString(p.host) {
		if scheme == "" {
			return redacted
		}
		return scheme + "…"
	}
	out := scheme + strings.ToLower(p.host)
	hidden := p.userinfo != "" || p.query != "" || p.fragment != "" || len(p.segments) > 0
	if p.shownSegment() {
		out += "/" + p.segments[0]
	}
	if hidden {
		out += "/…"
	}
	return out
}

// secrets lists the parts of rawURL that Redact hides, as they may appear
// in other messages: as written, quoted as %q quotes them, escaped and
// unescaped. Parts shorter than
// four bytes are left out: they would take letters out of words.
func secrets(rawURL string) []string {
	p := splitURL(rawURL)
	parts := []string{rawURL, strings.TrimSpace(rawURL), p.userinfo, p.query, p.fragment}
	parts = append(parts, strings.Split(p.userinfo, ":")...)
	for _, kv := range strings.Split(p.query, "&") {
		_, v, _ := strings.Cut(kv, "=")
		parts = append(parts, kv, v)
	}
	segs := p.segments
	if p.shownSegment() {
		segs = segs[1:]
	}
	parts = append(parts, segs...)
	if len(segs) > 0 {
		parts = append(parts, strings.Join(segs, "/"))
	}
	var out []string
	for _, s := range parts {
		if len(s) < 4 {
			continue
		}
		out = append(out, s)
		if q := strconv.Quote(s); q[1:len(q)-1] != s {
			out = append(out, q[1:len(q)-1])
		}
		if e := url.PathEscape(s); e != s {
			out = append(out, e)
		}
		if u, err := url.PathUnescape(s); err == nil && u != s && len(u) >= 4 {
			out = append(out, u)
		}
	}
	// the longest first, so that a part inside another goes with it
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

// quotedRE matches a Go-quoted string in an error message, where net/url
// and net/http put pieces of a URL.
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// scrub removes from msg every part of rawURL that Redact hides.
func scrub(msg, rawURL string) string {
	for _, s := range secrets(rawURL) {
		msg = strings.ReplaceAll(msg, s, "…")
	}
	return msg
}

// redactedError stands for an error whose message may hold parts of a
// webhook URL: it has the message without them, and unwraps to the
// error, so that errors.Is and errors.As still reach it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with the secrets of rawURL taken out of its
// message; a *url.Error in err comes back as a *url.Error whose URL is
// redacted. A nil err stays nil.
func redactError(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && err == error(uerr) {
		return &url.Error{Op: uerr.Op, URL: Redact(uerr.URL), Err: redactError(uerr.Err, rawURL)}
	}
	// net/url and net/http quote what they complain about, which may be a
	// piece of the URL: no quoted string is kept.
	msg := quotedRE.ReplaceAllString(err.Error(), `"…"`)
	return &redactedError{msg: scrub(msg, rawURL), err: err}
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
		return false, fmt.Errorf("webhook: build request: %w", redactError(err, c.url))
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
		// Once the context has ended, retrying cannot help.
		return ctx.Err() == nil, redactError(err, c.url)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	// Some servers quote the request's path in an error page.
	serr := &StatusError{Code: resp.StatusCode, Body: scrub(strings.TrimSpace(string(snippet)), c.url)}
	return serr.Retryable(), serr
}
