package agent

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ErrReadOnly means the server refused a change as read-only: it answered
// a request that would change something with 405 Method Not Allowed and an
// Allow header that names only methods that change nothing. The fixture
// server answers so when it replays a recording made by `agent record`.
// Nothing was changed and trying again cannot help, so commands report it
// as bad input (exit 2).
var ErrReadOnly = errors.New("a recording is read-only")

// readOnlyWatch counts the read-only refusals the tab received.
type readOnlyWatch struct {
	mu      sync.Mutex
	methods map[network.RequestID]string // the requests that may change something, until answered
	count   int
	last    string // "METHOD /path" of the last refusal
}

// safeMethod reports whether an HTTP method changes nothing.
func safeMethod(m string) bool {
	switch strings.ToUpper(strings.TrimSpace(m)) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// readOnlyRefusal reports whether a response is a read-only refusal: 405
// with an Allow header that names methods, all of them safe.
func readOnlyRefusal(status int64, headers network.Headers) bool {
	if status != http.StatusMethodNotAllowed {
		return false
	}
	for k, v := range headers {
		if !strings.EqualFold(k, "Allow") {
			continue
		}
		s, _ := v.(string)
		methods := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
		if len(methods) == 0 {
			return false
		}
		for _, m := range methods {
			if !safeMethod(m) {
				return false
			}
		}
		return true
	}
	return false
}

func (b *Browser) watchReadOnly() {
	w := &b.readOnly
	w.methods = map[network.RequestID]string{}
	// Listen runs before later commands return, so a refusal the page has
	// shown is always counted by the time a flow reads the page
	err := chromedp.Listen(b.ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Request != nil && !safeMethod(e.Request.Method) {
				w.mu.Lock()
				w.methods[e.RequestID] = strings.ToUpper(e.Request.Method)
				w.mu.Unlock()
			}
		case *network.EventResponseReceived:
			w.mu.Lock()
			defer w.mu.Unlock()
			method, ok := w.methods[e.RequestID]
			if !ok {
				return
			}
			delete(w.methods, e.RequestID)
			if e.Response == nil || !readOnlyRefusal(e.Response.Status, e.Response.Headers) {
				return
			}
			w.count++
			w.last = method
			if u, err := url.Parse(e.Response.URL); err == nil {
				w.last += " " + u.Path
			}
		}
	})
	if err != nil {
		b.log.Warn("watching for read-only refusals: " + err.Error())
	}
}

// ReadOnlyRefusals returns how many requests that would have changed
// something the server refused as read-only (see ErrReadOnly) since the
// browser opened, and the method and path of the last one. A flow compares
// the count before and after an action to tell whether the error the page
// showed was such a refusal.
func (b *Browser) ReadOnlyRefusals() (int, string) {
	w := &b.readOnly
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count, w.last
}
