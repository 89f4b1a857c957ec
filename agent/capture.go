package agent

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Response is one HTTP response the page received, with its body.
type Response struct {
	URL      string
	Status   int64
	MIMEType string
	Body     []byte
}

// Capture collects the responses whose URL matches a filter while the page
// loads, for `agent record`.
type Capture struct {
	b     *Browser
	stop  context.CancelFunc
	done  chan struct{}
	mu    sync.Mutex
	order []network.RequestID
	seen  map[network.RequestID]*network.Response
}

// CaptureResponses starts collecting the responses whose URL satisfies
// match. Call it before the navigation whose responses you want.
func (b *Browser) CaptureResponses(match func(url, mimeType string) bool) *Capture {
	ctx, cancel := context.WithCancel(b.ctx)
	c := &Capture{b: b, stop: cancel, done: make(chan struct{}), seen: map[network.RequestID]*network.Response{}}
	events := chromedp.Events(ctx, network.ResponseReceived)
	go func() {
		defer close(c.done)
		for ev, err := range events {
			if err != nil {
				return
			}
			if ev.Response == nil || !match(ev.Response.URL, ev.Response.MimeType) {
				continue
			}
			c.mu.Lock()
			if _, ok := c.seen[ev.RequestID]; !ok {
				c.order = append(c.order, ev.RequestID)
			}
			c.seen[ev.RequestID] = ev.Response
			c.mu.Unlock()
		}
	}()
	return c
}

// Finish stops collecting and fetches the bodies of what was collected, in
// the order the responses arrived. A body the browser no longer holds is
// left empty.
func (c *Capture) Finish(ctx context.Context) ([]Response, error) {
	c.stop()
	<-c.done
	c.mu.Lock()
	ids := append([]network.RequestID(nil), c.order...)
	c.mu.Unlock()
	out := make([]Response, 0, len(ids))
	for _, id := range ids {
		resp := c.seen[id]
		r := Response{URL: resp.URL, Status: resp.Status, MIMEType: resp.MimeType}
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
		if err != nil && (ctx.Err() != nil || strings.Contains(err.Error(), "browser")) {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
