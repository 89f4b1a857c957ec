// Command jsprofile shows where the page script spends the time of one
// collect (the read of every row that `agent list` does): it loads the
// Team page with a session, records a V8 CPU profile while
// selectors.Collect runs, and prints the page script's functions by self
// and inclusive time, with the time the page was idle (waiting for a
// frame, a task or a timer).
//
//	jsprofile -base-url http://127.0.0.1:8089 -workspace 1234 -session session.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

func main() {
	var (
		baseURL   = flag.String("base-url", "http://127.0.0.1:8089", "the fixture's origin")
		workspace = flag.String("workspace", "1234", "the workspace id")
		session   = flag.String("session", "session.json", "the storage-state file")
		chrome    = flag.String("chrome", "", "the browser binary (default: search)")
		top       = flag.Int("top", 25, "how many functions to show")
		interval  = flag.Int64("interval", 200, "sampling interval in microseconds")
	)
	flag.Parse()
	if err := profile(*baseURL, *workspace, *session, *chrome, *top, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "jsprofile:", err)
		os.Exit(1)
	}
}

// evaluator runs the page script's calls in a chromedp tab.
type evaluator struct{ ctx context.Context }

func (e evaluator) Eval(ctx context.Context, _ string, d time.Duration, expr string, out any) error {
	if d <= 0 {
		d = time.Minute
	}
	c, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	raw, err := chromedp.Run(c, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

func profile(baseURL, workspace, session, chrome string, top int, interval int64) error {
	cfg := agent.Config{BaseURL: baseURL, Workspace: workspace, SessionFile: session, ChromePath: chrome}
	teamURL, err := cfg.TeamURL()
	if err != nil {
		return err
	}
	state, err := agent.LoadSession(session, time.Now())
	if err != nil {
		return err
	}
	if chrome == "" {
		if chrome, err = agent.FindChrome(); err != nil {
			return err
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.WindowSize(1280, 1000), chromedp.DisableGPU, chromedp.NoSandbox)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		return err
	}
	var cookies []*network.CookieParam
	for _, c := range state.Cookies {
		p := &network.CookieParam{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path, HTTPOnly: c.HTTPOnly}
		if c.Expires > 0 {
			p.Expires = cdp.TimeSinceEpoch(c.Expires)
		}
		cookies = append(cookies, p)
	}
	if _, err := chromedp.Call(ctx, network.SetCookies, network.SetCookiesParams{Cookies: cookies}); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(teamURL)); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: interval}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{}); err != nil {
		return err
	}
	start := time.Now()
	col, err := selectors.Collect(ctx, evaluator{ctx}, selectors.Options{Step: 15 * time.Second, Total: 10 * time.Minute})
	wall := time.Since(start)
	res, perr := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	if res.Profile == nil {
		return errors.New("no profile")
	}
	fmt.Printf("collect: %d members, %d invitations, %d pages, in %s (notes: %s)\n",
		len(col.Members), len(col.Invitations), col.Pages, wall.Round(time.Millisecond), strings.Join(col.Notes, "; "))
	report(res.Profile, top)
	return nil
}

type stat struct {
	name        string
	self, incl  time.Duration
	selfSamples int
}

// report prints the profile by function: self time (on top of the stack)
// and inclusive time (anywhere on the stack, counted once per sample).
func report(p *profiler.Profile, top int) {
	byID := map[int64]*profiler.ProfileNode{}
	parent := map[int64]int64{}
	for _, n := range p.Nodes {
		byID[n.ID] = n
		for _, c := range n.Children {
			parent[c] = n.ID
		}
	}
	label := func(n *profiler.ProfileNode) string {
		f := n.CallFrame
		name := f.FunctionName
		if name == "" {
			name = "(anonymous)"
		}
		if strings.HasPrefix(name, "(") {
			return name
		}
		switch {
		case f.URL == "" && f.LineNumber < 0:
			// a built-in, e.g. getBoundingClientRect with the layout it forces
			return name + " (native)"
		case f.URL == "":
			// code evaluated over CDP without a URL: the agent's page script
			return fmt.Sprintf("%s (page.js:%d)", name, f.LineNumber+1)
		}
		return fmt.Sprintf("%s (%s:%d)", name, f.URL[strings.LastIndexByte(f.URL, '/')+1:], f.LineNumber+1)
	}
	stats := map[string]*stat{}
	get := func(k string) *stat {
		s := stats[k]
		if s == nil {
			s = &stat{name: k}
			stats[k] = s
		}
		return s
	}
	var total time.Duration
	for i, id := range p.Samples {
		var dt time.Duration
		if i+1 < len(p.TimeDeltas) {
			dt = time.Duration(p.TimeDeltas[i+1]) * time.Microsecond
		}
		total += dt
		n := byID[id]
		if n == nil {
			continue
		}
		s := get(label(n))
		s.self += dt
		s.selfSamples++
		seen := map[string]bool{}
		for cur, ok := id, true; ok; cur, ok = parent[cur] {
			k := label(byID[cur])
			if seen[k] {
				continue
			}
			seen[k] = true
			get(k).incl += dt
		}
	}
	list := make([]*stat, 0, len(stats))
	for _, s := range stats {
		list = append(list, s)
	}
	pct := func(d time.Duration) string {
		if total == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(d)/float64(total))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("\nprofile: %s sampled\n\nby self time\n", total.Round(time.Millisecond))
	sort.Slice(list, func(i, j int) bool { return list[i].self > list[j].self })
	fmt.Fprintln(tw, "self ms\tself\tincl ms\tincl\t function\t")
	for i, s := range list {
		if i >= top {
			break
		}
		fmt.Fprintf(tw, "%.0f\t%s\t%.0f\t%s\t %s\t\n", ms(s.self), pct(s.self), ms(s.incl), pct(s.incl), s.name)
	}
	tw.Flush()
	fmt.Printf("\nby inclusive time\n")
	sort.Slice(list, func(i, j int) bool { return list[i].incl > list[j].incl })
	fmt.Fprintln(tw, "incl ms\tincl\tself ms\tself\t function\t")
	for i, s := range list {
		if i >= top {
			break
		}
		fmt.Fprintf(tw, "%.0f\t%s\t%.0f\t%s\t %s\t\n", ms(s.incl), pct(s.incl), ms(s.self), pct(s.self), s.name)
	}
	tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
