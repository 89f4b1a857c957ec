package flows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// TestProbeUnderChaos: the probe finds every control on every rendition
// while the page re-renders its rows at random and the API is slow, and it
// sends no mutation: menus and popups it opens are closed with nothing
// chosen, the invite dialog is cancelled.
func TestProbeUnderChaos(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(fmt.Sprintf("%s/seed-%d", rendition, chaosSeeds[0]), func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithMembers(70), fixtures.WithPageSize(25))
			env.Server.SetFaults(fixtures.Faults{Chaos: fixtures.ChaosFault{Enabled: true, Seed: chaosSeeds[0]}})
			p, err := open(t, env, 10*time.Second).Probe(testContext(t))
			require.NoError(t, err)
			assert.Empty(t, p.Drift(), "%+v", p.Checks)
			assert.Equal(t, 70, p.Members)
			seen := map[flows.ProbeControl]bool{}
			for _, c := range p.Checks {
				seen[c.Control] = true
			}
			for _, c := range []flows.ProbeControl{flows.ProbeList, flows.ProbeInvite, flows.ProbeInviteEmail, flows.ProbeSendInvite, flows.ProbeRole, flows.ProbeRemove, flows.ProbeRevoke} {
				assert.True(t, seen[c], "%s was checked", c)
			}
			assert.Empty(t, env.Server.Mutations())
		})
	}
}
