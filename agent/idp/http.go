package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-retry"
	"go.uber.org/zap"
)

// maxPageSize bounds the body of one response.
const maxPageSize = 256 << 20

// userAgent is sent with every request.
const userAgent = "clay-agent-idp"

// fetcher makes the requests of one live download, retrying 429, 5xx and
// network errors with bounded backoff.
type fetcher struct {
	cfg    *config
	source string
	// secrets are taken out of what the fetcher logs.
	secrets []string
}

// response is a successful response, read whole.
type response struct {
	body   []byte
	header http.Header
}

// hintedBackoff is a backoff whose next wait can be set by the attempt
// that just failed, to follow the server's Retry-After.
type hintedBackoff struct {
	next retry.Backoff
	hint time.Duration
}

func (h *hintedBackoff) Next() (time.Duration, bool) {
	d, stop := h.next.Next()
	if stop {
		return 0, true
	}
	if h.hint > 0 {
		d, h.hint = h.hint, 0
	}
	return d, false
}

func (f *fetcher) backoff() *hintedBackoff {
	b := retry.NewExponential(max(f.cfg.baseDelay, time.Nanosecond))
	b = retry.WithJitterPercent(25, b)
	if f.cfg.maxDelay > 0 {
		b = retry.WithCappedDuration(f.cfg.maxDelay, b)
	}
	return &hintedBackoff{next: retry.WithMaxRetries(uint64(f.cfg.maxAttempts-1), b)}
}

// do sends the request newReq builds (once per attempt) and returns the
// response of the first attempt that succeeds. 401 and 403 fail at once
// with an *HTTPError that matches ErrAuth; other 4xx but 429 fail at once.
func (f *fetcher) do(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*response, error) {
	bo := f.backoff()
	attempts := 0
	var last error
	resp, err := retry.DoValue(ctx, bo, func(ctx context.Context) (*response, error) {
		attempts++
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", userAgent)
		resp, wait, err := f.attempt(req)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() == nil {
			last = err
		}
		var he *HTTPError
		switch {
		case errors.As(err, &he) && he.Code == http.StatusTooManyRequests:
			if wait > f.cfg.maxRetryAfter {
				return nil, fmt.Errorf("%w: the server asks to wait %s, more than %s", err, wait.Round(time.Second), f.cfg.maxRetryAfter)
			}
			bo.hint = wait
		case errors.As(err, &he) && he.Code < 500:
			return nil, err
		}
		if attempts < f.cfg.maxAttempts {
			f.cfg.log.Warn("identity provider request failed; retrying",
				zap.String("source", f.source), zap.Int("attempt", attempts), zap.Error(scrub(err, f.secrets...)))
		}
		return nil, retry.RetryableError(err)
	})
	switch {
	case err == nil:
		return resp, nil
	case ctx.Err() != nil && last != nil:
		return nil, fmt.Errorf("%w (after %d attempt(s); last: %w)", err, attempts, last)
	case attempts > 1:
		return nil, fmt.Errorf("after %d attempts: %w", attempts, err)
	}
	return nil, err
}

// attempt makes one request. For a 429 it returns the wait the server
// asked for (0 when it said nothing).
func (f *fetcher) attempt(req *http.Request) (*response, time.Duration, error) {
	resp, err := f.cfg.httpClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		if len(body) > maxPageSize {
			return nil, 0, fmt.Errorf("response larger than %d MiB", maxPageSize>>20)
		}
		return &response{body: body, header: resp.Header}, 0, nil
	}
	he := &HTTPError{Code: resp.StatusCode, Message: errorMessage(body)}
	if resp.StatusCode == http.StatusTooManyRequests {
		return nil, retryAfter(resp.Header, time.Now()), he
	}
	return nil, 0, he
}

// retryAfter reads how long a 429 response asks to wait: Retry-After in
// seconds or as an HTTP date, or else Okta's X-Rate-Limit-Reset (the Unix
// time the limit resets, compared with the response's Date). It returns
// 0 when the response says nothing usable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			return time.Duration(min(secs, 1<<31)) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := strings.TrimSpace(h.Get("X-Rate-Limit-Reset")); v != "" {
		if reset, err := strconv.ParseInt(v, 10, 64); err == nil {
			ref := now
			if d, err := http.ParseTime(h.Get("Date")); err == nil {
				ref = d
			}
			return max(time.Unix(reset, 0).Sub(ref), 0) + time.Second
		}
	}
	return 0
}

// errorMessage takes the vendor's summary out of an error body: Okta's
// errorSummary, Graph's error.message (after its error.code), or the
// token endpoint's error code. It keeps one line of at most 200 bytes.
func errorMessage(body []byte) string {
	var e struct {
		ErrorSummary string          `json:"errorSummary"`
		Error        json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msg := e.ErrorSummary
	if msg == "" && len(e.Error) > 0 {
		var code string
		var graph struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(e.Error, &code) == nil:
			msg = code
		case json.Unmarshal(e.Error, &graph) == nil:
			msg = graph.Message
			if graph.Code != "" && msg != "" {
				msg = graph.Code + ": " + msg
			} else if graph.Code != "" {
				msg = graph.Code
			}
		}
	}
	msg, _, _ = strings.Cut(msg, "\n")
	msg = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, msg)
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// sameOrigin reports whether next has the scheme and host of base, so
// that a pagination link never sends a credential to another host.
func sameOrigin(base, next *url.URL) bool {
	return strings.EqualFold(base.Scheme, next.Scheme) && strings.EqualFold(base.Host, next.Host)
}

// pager walks a paginated list: it resolves each next link against the
// page it came from, refuses links to another host and links seen before.
type pager struct {
	origin *url.URL
	seen   map[string]bool
}

func newPager(origin *url.URL) *pager {
	return &pager{origin: origin, seen: make(map[string]bool)}
}

// next checks the link to the page after cur and returns it resolved.
func (p *pager) next(cur *url.URL, link string) (*url.URL, error) {
	u, err := cur.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("the next-page link does not parse: %w", err)
	}
	if !sameOrigin(p.origin, u) {
		return nil, fmt.Errorf("the next-page link points to another host (%s)", u.Host)
	}
	if p.seen[u.String()] {
		return nil, errors.New("the next-page link repeats an earlier page")
	}
	p.seen[u.String()] = true
	return u, nil
}
