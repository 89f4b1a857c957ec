package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
)

// listSizes are the workspace sizes measured on each rendition. 2,000 on
// the virtualized grid is the size of the 1.5× target.
var listSizes = map[string][]int{
	fixtures.RenditionGrid:  {100, 1000, 2000, 5000},
	fixtures.RenditionPaged: {100, 1000, 5000},
}

// phases adds up the time of each phase over the iterations and reports
// each one as milliseconds per operation.
type phases struct {
	names []string
	total map[string]time.Duration
	n     int
}

func newPhases(names ...string) *phases {
	return &phases{names: names, total: map[string]time.Duration{}}
}

// timed runs f and adds its duration to phase name.
func (p *phases) timed(name string, f func() error) error {
	start := time.Now()
	err := f()
	p.total[name] += time.Since(start)
	return err
}

func (p *phases) report(b *testing.B) {
	if p.n == 0 {
		return
	}
	for _, name := range p.names {
		b.ReportMetric(float64(p.total[name].Microseconds())/1000/float64(p.n), name+"-ms/op")
	}
}

// BenchmarkList measures what `agent list` does, minus flag parsing and
// output: start Chrome, install the session, load the Team page, read
// every member (paging or scrolling), close Chrome. The fixture server
// runs in a child process, so allocations are the agent's own.
func BenchmarkList(b *testing.B) {
	for _, rendition := range []string{fixtures.RenditionGrid, fixtures.RenditionPaged} {
		for _, n := range listSizes[rendition] {
			b.Run(fmt.Sprintf("%s/%d", rendition, n), func(b *testing.B) {
				f := startFixture(b, rendition, n)
				ph := newPhases("start", "load", "collect", "close")
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					var br *agent.Browser
					if err := ph.timed("start", func() error {
						var err error
						if br, err = agent.Open(ctx, f.cfg); err != nil {
							return err
						}
						return br.SetSession(ctx, f.state)
					}); err != nil {
						if br != nil {
							br.Close()
						}
						b.Fatal(err)
					}
					team := flows.NewTeam(br, f.teamURL)
					if err := ph.timed("load", func() error { return team.Open(ctx) }); err != nil {
						br.Close()
						b.Fatal(err)
					}
					var got int
					err := ph.timed("collect", func() error {
						r, err := team.List(ctx, f.Workspace)
						if err == nil {
							got = len(r.Members)
						}
						return err
					})
					_ = ph.timed("close", func() error { br.Close(); return nil })
					if err != nil {
						b.Fatal(err)
					}
					if got != n {
						b.Fatalf("listed %d members, want %d", got, n)
					}
					ph.n++
				}
				ph.report(b)
				b.ReportMetric(float64(n), "members/op")
				b.ReportMetric(rssMiB("VmHWM"), "peak-RSS-MiB")
			})
		}
	}
}

// BenchmarkBaseline is the floor the 1.5× target compares with: Chrome
// starts, loads the Team page with the session and receives its rows,
// measured until the first member's email is in the DOM. Nothing is read.
func BenchmarkBaseline(b *testing.B) {
	const n = 2000
	b.Run(fmt.Sprintf("%s/%d", fixtures.RenditionGrid, n), func(b *testing.B) {
		f := startFixture(b, fixtures.RenditionGrid, n)
		// the second seed member: its row is in the first rendered window
		firstRow := fixtures.SeedMembers()[1].Email
		wait := waitForText(firstRow)
		ph := newPhases("start", "load", "rows", "close")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			var br *agent.Browser
			if err := ph.timed("start", func() error {
				var err error
				if br, err = agent.Open(ctx, f.cfg); err != nil {
					return err
				}
				return br.SetSession(ctx, f.state)
			}); err != nil {
				if br != nil {
					br.Close()
				}
				b.Fatal(err)
			}
			err := ph.timed("load", func() error { return br.Navigate(ctx, f.teamURL) })
			if err == nil {
				err = ph.timed("rows", func() error {
					var ok bool
					if err := br.Eval(ctx, "waiting for the first row", 30*time.Second, wait, &ok); err != nil {
						return err
					}
					if !ok {
						return fmt.Errorf("no row with %s", firstRow)
					}
					return nil
				})
			}
			_ = ph.timed("close", func() error { br.Close(); return nil })
			if err != nil {
				b.Fatal(err)
			}
			ph.n++
		}
		ph.report(b)
	})
}

// waitForText is a page expression that resolves to true once text is
// part of the document, watching mutations rather than polling.
func waitForText(text string) string {
	q, _ := json.Marshal(text)
	return `new Promise((resolve) => {
  const want = ` + string(q) + `;
  const ok = () => !!document.body && document.body.textContent.includes(want);
  if (ok()) { resolve(true); return; }
  const mo = new MutationObserver(() => { if (ok()) { mo.disconnect(); resolve(true); } });
  mo.observe(document, { subtree: true, childList: true, characterData: true });
})`
}
