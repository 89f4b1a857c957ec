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

// offboardCount is the batch size of the offboarding benchmark.
const offboardCount = 50

// BenchmarkOffboard measures offboarding 50 members in one run, as
// `agent offboard --from-file` does: one read of the page, then for each
// member the trash control, the confirmation dialog, the wait for the page
// and the check that the row is gone, then one reload that verifies all
// removals. Chrome's start and the session set-up are not timed. With
// evidence, a PNG is kept before and after each removal, as real runs do.
// It reports the cost per removal.
func BenchmarkOffboard(b *testing.B) {
	seed := len(fixtures.SeedMembers())
	targets := make([]string, offboardCount)
	for i := range targets {
		targets[i] = fmt.Sprintf("member%04d@example.test", seed+1+i)
	}
	for _, rendition := range fixtures.Renditions() {
		for _, evidence := range []bool{false, true} {
			name := rendition
			if evidence {
				name += "/evidence"
			}
			b.Run(name, func(b *testing.B) {
				var total time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					f := startFixture(b, rendition, seed+offboardCount)
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
					if evidence {
						dir := b.TempDir()
						batch.Evidence = func(ctx context.Context, target, when string) (string, error) {
							return br.SaveScreenshot(ctx, dir, target+"-"+when)
						}
					}
					if err := team.Open(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
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
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N*offboardCount), "ms/removal")
			})
		}
	}
}
