package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"sync"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ResourceType is what the browser loaded a response as.
type ResourceType string

// The resource types a capture tells apart.
const (
	// ResourceDocument is a page's HTML document, as the server sent it.
	ResourceDocument ResourceType = ResourceType(network.ResourceTypeDocument)
	// ResourceScript is a script the page loaded.
	ResourceScript ResourceType = ResourceType(network.ResourceTypeScript)
	// ResourceStylesheet is a style sheet the page loaded.
	ResourceStylesheet ResourceType = ResourceType(network.ResourceTypeStylesheet)
	// ResourceFetch is a request the page's script made with fetch.
	ResourceFetch ResourceType = ResourceType(network.ResourceTypeFetch)
	// ResourceXHR is a request the page's script made with XMLHttpRequest.
	ResourceXHR ResourceType = ResourceType(network.ResourceTypeXHR)
)

// Response is one HTTP response the page received, with its body.
type Response struct {
	// Method is the request's method ("GET" when the browser did not say).
	Method string
	// URL is the response's URL, query included.
	URL      string
	Status   int64
	MIMEType string
	// Type is what the browser loaded the response as.
	Type ResourceType
	Body []byte
}

// Capture collects the responses that match a filter while the page
// loads, for `agent record`.
type Capture struct {
	b       *Browser
	stop    context.CancelFunc
	match   func(Response) bool
	mu      sync.Mutex
	order   []network.RequestID
	methods map[network.RequestID]string
	seen    map[network.RequestID]Response
}

// CaptureResponses starts collecting the responses for which match returns
// true; match sees every field but the body. Call it before the navigation
// whose responses you want.
func (b *Browser) CaptureResponses(match func(Response) bool) *Capture {
	ctx, cancel := context.WithCancel(b.ctx)
	c := &Capture{b: b, stop: cancel, match: match, methods: map[network.RequestID]string{}, seen: map[network.RequestID]Response{}}
	// Listen sees a request before its response, in the order the browser
	// sent them
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Request != nil {
				c.mu.Lock()
				c.methods[e.RequestID] = e.Request.Method
				c.mu.Unlock()
			}
		case *network.EventResponseReceived:
			c.received(e)
		}
	})
	if err != nil {
		b.log.Warn("capturing responses: " + err.Error())
	}
	return c
}

func (c *Capture) received(e *network.EventResponseReceived) {
	if e.Response == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	method := c.methods[e.RequestID]
	if method == "" {
		method = "GET"
	}
	r := Response{Method: method, URL: e.Response.URL, Status: e.Response.Status, MIMEType: e.Response.MimeType, Type: ResourceType(e.Type)}
	if !c.match(r) {
		return
	}
	if _, ok := c.seen[e.RequestID]; !ok {
		c.order = append(c.order, e.RequestID)
	}
	c.seen[e.RequestID] = r
}

// Finish stops collecting and fetches the bodies of what was collected, in
// the order the responses arrived. A body the browser no longer holds is
// left empty.
func (c *Capture) Finish(ctx context.Context) ([]Response, error) {
	c.stop()
	c.mu.Lock()
	ids := append([]network.RequestID(nil), c.order...)
	seen := make(map[network.RequestID]Response, len(c.seen))
	for k, v := range c.seen {
		seen[k] = v
	}
	c.mu.Unlock()
	out := make([]Response, 0, len(ids))
	for _, id := range ids {
		r := seen[id]
		err := c.b.step(ctx, "reading a response body", 0, func(ctx context.Context) error {
			res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
			if err != nil {
				return err
			}
			r.Body = res.Body
			if res.Base64encoded {
				if dec, derr := base64.StdEncoding.DecodeString(string(res.Body)); derr == nil {
					r.Body = dec
				}
			}
			return nil
		})
		if err != nil && (ctx.Err() != nil || errors.Is(err, ErrBrowserGone)) {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
