package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
)

// offboardCount is the batch size of the offboarding benchmark, taken
// from the middle of a list of offboardListSize members.
const (
	offboardCount    = 20
	offboardListSize = 300
)

// BenchmarkOffboard measures offboarding 20 members from the middle of a
// 300-member list in one run, as `agent offboard --from-file` does: one
// complete read of the page to plan, then for each member locating its
// row, the remove control (or its actions menu), the confirmation dialog,
// the wait for the page and the check that the row is gone, then one
// reload and complete read that verifies all removals. Before the batch,
// one read of the list leaves it at its end, and is timed on its own:
// "beyond-read-ms/removal" is the batch's time less one read, per removal.
// Chrome's start and the session set-up are not timed. With evidence, a
// PNG is kept before and after each removal, as real runs do.
func BenchmarkOffboard(b *testing.B) {
	targets := make([]string, offboardCount)
	first := offboardListSize/2 - offboardCount/2
	for i := range targets {
		targets[i] = fmt.Sprintf("member%04d@example.test", first+i)
	}
	type variant struct {
		rendition string
		evidence  bool
	}
	var variants []variant
	for _, r := range fixtures.Renditions() {
		variants = append(variants, variant{r, false})
	}
	variants = append(variants, variant{fixtures.RenditionGrid, true})
	for _, v := range variants {
		name := v.rendition
		if v.evidence {
			name += "/evidence"
		}
		b.Run(name, func(b *testing.B) {
			var total, read time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := startFixture(b, v.rendition, offboardListSize)
				ctx := context.Background()
				br, err := agent.Open(ctx, f.cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := br.SetSession(ctx, f.state); err != nil {
					b.Fatal(err)
				}
				team := flows.NewTeam(br, f.teamURL)
				batch := flows.Batch{Policy: flows.Policy{MaxRemovals: -1}}
				if v.evidence {
					dir := b.TempDir()
					batch.Evidence = func(ctx context.Context, target, when string) (string, error) {
						return br.SaveScreenshot(ctx, dir, target+"-"+when)
					}
				}
				if err := team.Open(ctx); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := team.List(ctx, ""); err != nil {
					b.Fatal(err)
				}
				read += time.Since(start)
				b.StartTimer()
				start = time.Now()
				rs, err := team.Offboard(ctx, targets, batch)
				total += time.Since(start)
				b.StopTimer()
				br.Close()
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range rs {
					if r.Action != flows.Removed {
						b.Fatalf("%s: %s (%s)", r.Email, r.Action, r.Detail)
					}
				}
			}
			n := float64(b.N * offboardCount)
			b.ReportMetric(float64(total.Milliseconds())/n, "ms/removal")
			b.ReportMetric(float64((total-read).Milliseconds())/n, "beyond-read-ms/removal")
			b.ReportMetric(float64(read.Milliseconds())/float64(b.N), "read-ms")
		})
	}
}
