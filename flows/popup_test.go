package flows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// popupModes are the ways of closing a popup a page may be limited to,
// with how the probe reports the gesture that closed it.
var popupModes = []struct {
	name    string
	close   fixtures.PopupClose
	gesture flows.CloseGesture
}{
	{"outside-click-only", fixtures.PopupCloseOutside, flows.CloseOutside},
	{"trigger-only", fixtures.PopupCloseTrigger, flows.CloseTrigger},
}

// popupRenditions are the renditions whose role dropdown or actions menu
// is a popup (the others use a native <select> and text buttons).
var popupRenditions = map[string]bool{fixtures.RenditionGrid: true, fixtures.RenditionPaged: true, fixtures.RenditionFeed: true}

// A page whose popups close only on a click outside them, or only on
// their trigger, is no drift: the probe closes them the way the page
// does, selects nothing, and a role change works there.
func TestPopupsThatIgnoreEscape(t *testing.T) {
	for _, mode := range popupModes {
		for _, rendition := range renditions {
			t.Run(mode.name+"/"+rendition, func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{PopupClose: mode.close})
				team := open(t, env, 10*time.Second)
				ctx := testContext(t)

				p, err := team.Probe(ctx)
				require.NoError(t, err)
				assert.Empty(t, p.Drift(), "%+v", p.Checks)
				if popupRenditions[rendition] {
					closed := false
					for _, c := range p.Checks {
						if c.Control == flows.ProbeRole || c.Control == flows.ProbeRemoveItem {
							assert.Contains(t, c.Detail, "closed with "+mode.gesture.String(), "%+v", c)
							closed = true
						}
					}
					assert.True(t, closed, "a popup was opened and closed: %+v", p.Checks)
				}
				assert.Empty(t, env.Server.Mutations(), "the probe changes nothing")

				res, err := team.SetRole(ctx, "priya.nair@acme.test", roster.Editor, flows.Batch{Retry: fastRetry})
				require.NoError(t, err)
				assert.Equal(t, flows.RoleChanged, res.Action, res.Detail)
				assert.Equal(t, fixtures.RoleEditor, memberRole(env.Server, "priya.nair@acme.test"))
			})
		}
	}
}

// A popup that closes on nothing the agent may do (neither Escape, nor a
// click outside it, nor its trigger) is drift: the probe says so, and
// chooses nothing.
func TestPopupThatNeverClosesIsDrift(t *testing.T) {
	for _, rendition := range renditions {
		if !popupRenditions[rendition] {
			continue
		}
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			env.Server.SetFaults(fixtures.Faults{PopupClose: fixtures.PopupCloseNothing})
			p, err := open(t, env, 5*time.Second).Probe(testContext(t))
			require.NoError(t, err)
			drift := p.Drift()
			require.NotEmpty(t, drift, "%+v", p.Checks)
			for _, c := range p.Checks {
				if !c.OK() {
					assert.Contains(t, c.Detail, "did not close", "%+v", c)
					assert.Contains(t, c.Detail, agent.ErrPageChanged.Error(), "%+v", c)
				}
			}
			assert.Empty(t, env.Server.Mutations(), "the probe changes nothing")
		})
	}
}
