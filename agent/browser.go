package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
	"go.uber.org/zap"
)

// ErrStepTimeout marks a browser step that did not finish within its own
// timeout. It wraps context.DeadlineExceeded too.
var ErrStepTimeout = errors.New("step timed out")

// Browser is one browser with one tab, for one run. It is not safe for
// concurrent use: a run drives its tab one step at a time.
type Browser struct {
	cfg     Config
	log     *zap.Logger
	ctx     context.Context // the tab's context
	cancel  context.CancelFunc
	closeMu sync.Once

	consoleMu sync.Mutex
	console   []string
	closed    chan struct{}

	initScripts map[string]bool // names of the scripts added to every new document

	readOnly readOnlyWatch
}

// maxConsole bounds the console lines kept for failure artifacts.
const maxConsole = 500

// Open starts (or attaches to) a browser and opens one tab. The browser
// lives until Close or until ctx ends, whichever comes first: cancelling ctx
// (Ctrl-C) closes it and leaves no process behind. A browser it starts
// keeps its profile in a new directory under ProfileRoot, removed when the
// browser exits; Open first removes the profiles that processes no longer
// running left behind.
func Open(ctx context.Context, cfg Config) (*Browser, error) {
	b := &Browser{cfg: cfg, log: cfg.logger(), closed: make(chan struct{})}
	var allocCtx context.Context
	var allocCancel context.CancelFunc
	if cfg.ChromeURL != "" {
		allocCtx, allocCancel = remote.NewAllocator(ctx, cfg.ChromeURL)
	} else {
		path := cfg.ChromePath
		if path == "" {
			p, err := FindChrome()
			if err != nil {
				return nil, err
			}
			path = p
		} else if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%w: browser %s: %v (%s)", ErrNoChrome, path, err, InstallHint)
		}
		w, h := cfg.WindowWidth, cfg.WindowHeight
		if w <= 0 || h <= 0 {
			w, h = 1280, 1000
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.WindowSize(w, h),
			chromedp.DisableGPU,
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("mute-audio", true),
			chromedp.Flag("hide-scrollbars", true),
		)
		if os.Geteuid() == 0 || cfg.NoSandbox {
			// Chrome refuses to run as root with its sandbox on, and
			// containers under a default seccomp profile have no usable
			// sandbox for it either.
			opts = append(opts, chromedp.NoSandbox)
		}
		profile, err := newProfile(b.log)
		if err != nil {
			return nil, fmt.Errorf("starting the browser: %w", err)
		}
		opts = append(opts, chromedp.UserDataDir(profile))
		var stopBrowser context.CancelFunc
		allocCtx, stopBrowser = chromedp.NewExecAllocator(ctx, opts...)
		// The profile goes when the browser has exited, whether Close
		// stopped it or ctx ended.
		removeOnce := sync.OnceFunc(func() { removeProfile(profile, b.log) })
		allocCancel = func() {
			stopBrowser()
			removeOnce()
		}
		go func() {
			<-allocCtx.Done()
			allocCancel()
		}()
	}
	ctxOpts := []chromedp.ContextOption{
		chromedp.WithLogf(func(f string, a ...any) { b.log.Debug(fmt.Sprintf(f, a...)) }),
		chromedp.WithErrorf(func(f string, a ...any) { b.log.Debug("chromedp: " + fmt.Sprintf(f, a...)) }),
	}
	if cfg.ChromeURL != "" {
		// a shared browser: each run gets a browser context of its own, so
		// that no session cookie outlives the run or meets another's
		ctxOpts = append(ctxOpts, chromedp.WithNewBrowserContext())
	}
	tabCtx, tabCancel := chromedp.NewContext(allocCtx, ctxOpts...)
	b.ctx = tabCtx
	b.cancel = func() {
		tabCancel()
		allocCancel()
	}

	// Starting the browser binds its life to the context of the first
	// call, so start it on the tab context and bound the wait separately.
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(tabCtx) }()
	limit := 2 * cfg.stepTimeout()
	if limit < 30*time.Second {
		limit = 30 * time.Second
	}
	select {
	case err := <-start:
		if err != nil {
			b.cancel()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("starting the browser: %w", ctx.Err())
			}
			return nil, fmt.Errorf("%w: starting the browser: %s", ErrBrowserGone, firstLines(err.Error(), 3))
		}
	case <-time.After(limit):
		b.cancel()
		return nil, fmt.Errorf("%w: the browser did not start within %s", ErrStepTimeout, limit)
	}
	b.watchConsole()
	b.watchReadOnly()
	go func() {
		<-tabCtx.Done()
		close(b.closed)
	}()
	return b, nil
}

// Close closes the tab and the browser, and removes the profile of a
// browser that Open started. It is safe to call more than once.
func (b *Browser) Close() {
	b.closeMu.Do(func() { b.cancel() })
}

// Config returns the configuration the browser was opened with.
func (b *Browser) Config() Config { return b.cfg }

// Logger returns the runtime's logger.
func (b *Browser) Logger() *zap.Logger { return b.log }

func (b *Browser) watchConsole() {
	msgs := chromedp.Console(b.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleWarning && !m.IsException() {
				continue
			}
			line := fmt.Sprintf("%s %s %s", m.Time.UTC().Format(time.RFC3339Nano), m.Type, m)
			if m.URL != "" {
				line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			b.consoleMu.Lock()
			b.console = append(b.console, line)
			if len(b.console) > maxConsole {
				b.console = b.console[len(b.console)-maxConsole:]
			}
			b.consoleMu.Unlock()
		}
	}()
}

// ConsoleErrors returns the console errors, warnings and uncaught
// exceptions seen so far.
func (b *Browser) ConsoleErrors() []string {
	b.consoleMu.Lock()
	defer b.consoleMu.Unlock()
	return append([]string(nil), b.console...)
}

// step runs f with the step timeout (or d when d > 0) and turns the
// browser's failures into the runtime's errors, naming the step.
func (b *Browser) step(ctx context.Context, name string, d time.Duration, f func(ctx context.Context) error) error {
	select {
	case <-b.closed:
		return fmt.Errorf("%w: %s: the browser was closed", ErrBrowserGone, name)
	default:
	}
	if d <= 0 {
		d = b.cfg.stepTimeout()
	}
	sctx, cancel := context.WithTimeout(b.tabContext(ctx), d)
	defer cancel()
	start := time.Now()
	err := f(sctx)
	if ce := b.log.Check(zap.DebugLevel, "step"); ce != nil {
		ce.Write(zap.String("step", name), zap.Duration("took", time.Since(start)), zap.Error(err))
	}
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && b.gone(sctx) {
		return fmt.Errorf("%w: %s: the browser closed or crashed", ErrBrowserGone, name)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) || sctx.Err() != nil {
		return fmt.Errorf("%w: %s: no answer within %s: %w", ErrStepTimeout, name, d, context.DeadlineExceeded)
	}
	if isConnectionError(err) {
		return fmt.Errorf("%w: %s: %v", ErrBrowserGone, name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// goneGrace is how long a failed step waits for the browser's watcher to
// tell a crash from a failure: a step can fail a moment before the watcher
// sees the process end.
const goneGrace = 250 * time.Millisecond

// gone reports whether the browser died under a step that failed: it was
// closed, its context ended, or the step's context was cancelled rather
// than timed out and the browser is closed within goneGrace.
func (b *Browser) gone(sctx context.Context) bool {
	select {
	case <-b.closed:
		return true
	default:
	}
	if b.ctx.Err() != nil {
		return true
	}
	if !errors.Is(sctx.Err(), context.Canceled) {
		return false
	}
	t := time.NewTimer(goneGrace)
	defer t.Stop()
	select {
	case <-b.closed:
		return true
	case <-t.C:
		return b.ctx.Err() != nil
	}
}

// tabContext returns a context that carries the tab (for chromedp) and
// ends when either ctx or the tab ends.
func (b *Browser) tabContext(ctx context.Context) context.Context {
	c, cancel := context.WithCancel(b.ctx)
	stop := context.AfterFunc(ctx, cancel)
	context.AfterFunc(c, func() { stop() })
	return c
}

func isConnectionError(err error) bool {
	s := err.Error()
	for _, m := range []string{"websocket", "broken pipe", "connection reset", "EOF", "use of closed", "target closed", "session closed", "No target with given id"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// Navigate loads url and waits for its load event.
func (b *Browser) Navigate(ctx context.Context, rawURL string) error {
	return b.step(ctx, "loading "+RedactURL(rawURL), 0, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Navigate(rawURL))
	})
}

// Location returns the tab's current URL.
func (b *Browser) Location(ctx context.Context) (string, error) {
	var loc string
	err := b.step(ctx, "reading the page's address", 0, func(ctx context.Context) error {
		var err error
		loc, err = chromedp.Run(ctx, chromedp.Location())
		return err
	})
	return loc, err
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its JSON result into out. d bounds the step; 0 means the step timeout.
func (b *Browser) Eval(ctx context.Context, name string, d time.Duration, expr string, out any) error {
	return b.step(ctx, name, d, func(ctx context.Context) error {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			var ex *chromedp.ExceptionError
			if errors.As(err, &ex) {
				return fmt.Errorf("the page script failed: %v", err)
			}
			return err
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding the page script's answer: %w", err)
		}
		return nil
	})
}

// AddInitScript makes the tab run src in every document it loads from now
// on, before the document's own scripts, and once in the open document.
// A script is added once per name; adding the same name again does
// nothing.
func (b *Browser) AddInitScript(ctx context.Context, name, src string) error {
	if b.initScripts[name] {
		return nil
	}
	err := b.step(ctx, "installing "+name, 0, func(ctx context.Context) error {
		run := true
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src, RunImmediately: &run})
		return err
	})
	if err != nil {
		return err
	}
	if b.initScripts == nil {
		b.initScripts = make(map[string]bool)
	}
	b.initScripts[name] = true
	return nil
}

// ClickAt presses and releases the left mouse button at a point of the
// viewport, as a person's click would.
func (b *Browser) ClickAt(ctx context.Context, name string, x, y float64) error {
	return b.step(ctx, "clicking "+name, 0, func(ctx context.Context) error {
		for _, ev := range []input.DispatchMouseEventParams{
			{Type: input.DispatchMouseEventTypeMouseMoved, X: x, Y: y},
			{Type: input.DispatchMouseEventTypeMousePressed, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1},
			{Type: input.DispatchMouseEventTypeMouseReleased, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 0, ClickCount: 1},
		} {
			if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// InsertText types text into the focused field, as an input method would.
func (b *Browser) InsertText(ctx context.Context, name, text string) error {
	return b.step(ctx, "typing into "+name, 0, func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}

// PressKey sends one key (e.g. "Escape", "Enter") to the focused element.
func (b *Browser) PressKey(ctx context.Context, key string) error {
	codes := map[string]int64{"Escape": 27, "Enter": 13, "Tab": 9}
	return b.step(ctx, "pressing "+key, 0, func(ctx context.Context) error {
		for _, t := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: t, Key: key, Code: key, WindowsVirtualKeyCode: codes[key], NativeVirtualKeyCode: codes[key],
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetSession installs the storage state's cookies (and, for matching
// origins, its localStorage) before the first navigation.
func (b *Browser) SetSession(ctx context.Context, s *StorageState) error {
	base, err := url.Parse(b.cfg.BaseURL)
	if err != nil {
		return fmt.Errorf("%w: base URL: %v", ErrUsage, err)
	}
	params := make([]*network.CookieParam, 0, len(s.Cookies))
	for _, c := range s.Cookies {
		p := &network.CookieParam{
			Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path,
			Secure: c.Secure, HTTPOnly: c.HTTPOnly,
		}
		if p.Domain == "" {
			p.URL = base.Scheme + "://" + base.Host
		}
		if p.Path == "" {
			p.Path = "/"
		}
		if c.Expires > 0 {
			p.Expires = cdp.TimeSinceEpoch(c.Expires)
		}
		switch strings.ToLower(c.SameSite) {
		case "strict":
			p.SameSite = network.CookieSameSiteStrict
		case "lax":
			p.SameSite = network.CookieSameSiteLax
		case "none":
			p.SameSite = network.CookieSameSiteNone
		}
		params = append(params, p)
	}
	if err := b.step(ctx, "installing the session cookies", 0, func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.SetCookies, network.SetCookiesParams{Cookies: params})
		return err
	}); err != nil {
		return err
	}
	if len(s.Origins) == 0 {
		return nil
	}
	origins, err := json.Marshal(s.Origins)
	if err != nil {
		return fmt.Errorf("encoding localStorage: %w", err)
	}
	script := `(function(){try{var os=` + string(origins) + `;for(var i=0;i<os.length;i++){if(os[i].origin!==location.origin)continue;var ls=os[i].localStorage||[];for(var j=0;j<ls.length;j++){localStorage.setItem(ls[j].name,ls[j].value);}}}catch(e){}})();`
	return b.step(ctx, "installing localStorage", 0, func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	})
}

// Cookies returns every cookie the browser holds, in storage-state form.
func (b *Browser) Cookies(ctx context.Context) ([]Cookie, error) {
	var out []Cookie
	err := b.step(ctx, "reading the browser's cookies", 0, func(ctx context.Context) error {
		// the cookies of this run's browser context (its own one on a
		// shared browser), all domains included
		id := chromedp.FromContext(b.ctx).BrowserContextID
		res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: id})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			exp := c.Expires
			if c.Session {
				exp = -1
			}
			out = append(out, Cookie{
				Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path, Expires: exp,
				HTTPOnly: c.HTTPOnly, Secure: c.Secure, SameSite: string(c.SameSite),
			})
		}
		return nil
	})
	return out, err
}

// Screenshot captures the viewport as PNG.
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	var buf []byte
	err := b.step(ctx, "taking a screenshot", 0, func(ctx context.Context) error {
		yes := true
		res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, FromSurface: &yes, OptimizeForSpeed: &yes,
		})
		buf = res.Data
		return err
	})
	return buf, err
}

// HTML returns the page's current DOM as HTML.
func (b *Browser) HTML(ctx context.Context) (string, error) {
	var html string
	err := b.Eval(ctx, "reading the page's HTML", 0, `document.documentElement ? document.documentElement.outerHTML : ""`, &html)
	return html, err
}

// RedactURL drops a URL's query, fragment and user info, which can carry
// tokens, so that it can be logged and shown in errors.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the page"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// EnsureDir creates dir (and parents) with mode 0700 when it is missing.
func EnsureDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Clean(dir), err)
	}
	return nil
}

// firstLines keeps an error from Chrome, which can quote its whole log, to
// its first n non-empty lines on one line.
func firstLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, " | ")
}
