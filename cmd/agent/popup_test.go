package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// TestDoctorOnPopupsThatIgnoreEscape: a healthy page whose popups close
// only on a click outside them, or only on their trigger, passes doctor
// (exit 0) on every rendition; one whose popups close on none of these is
// drift (exit 4), and doctor never sends a mutation.
func TestDoctorOnPopupsThatIgnoreEscape(t *testing.T) {
	chrome := fixturetest.Chrome(t)
	cases := []struct {
		name  string
		close fixtures.PopupClose
		code  int
	}{
		{"outside-click-only", fixtures.PopupCloseOutside, exitOK},
		{"trigger-only", fixtures.PopupCloseTrigger, exitOK},
		{"closes-on-nothing", fixtures.PopupCloseNothing, exitPageChanged},
	}
	for _, tc := range cases {
		for _, rendition := range fixtures.Renditions() {
			popups := rendition == fixtures.RenditionGrid || rendition == fixtures.RenditionPaged || rendition == fixtures.RenditionFeed
			if tc.code != exitOK && !popups {
				continue // native selects and text buttons: no popup to keep open
			}
			t.Run(tc.name+"/"+rendition, func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{PopupClose: tc.close})
				r := runCLI(t, "", "doctor", "--base-url", env.URL(), "--workspace", env.Server.Workspace(),
					"--session", env.SessionFile, "--chrome", chrome, "--timeout", "10s", "--artifacts-dir", t.TempDir(), "-o", "json")
				require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
				var rep struct {
					Controls []flows.Check `json:"controls"`
				}
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
				failed := map[flows.ProbeControl]flows.Check{}
				for _, c := range rep.Controls {
					if !c.OK() {
						failed[c.Control] = c
					}
				}
				if tc.code == exitOK {
					assert.Empty(t, failed)
				} else {
					require.NotEmpty(t, failed)
					for _, c := range failed {
						assert.Contains(t, c.Detail, "did not close", "%+v", c)
					}
				}
				assert.Empty(t, env.Server.Mutations(), "doctor changes nothing")
			})
		}
	}
}

// TestServeOnPopupsThatIgnoreEscape: serve probes the page after every
// snapshot; on a page whose popups close only on a click outside them,
// consecutive snapshots are recorded and no drift is ever reported.
func TestServeOnPopupsThatIgnoreEscape(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionFeed))
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	e.Server.SetFaults(fixtures.Faults{PopupClose: fixtures.PopupCloseOutside})
	s := startServe(t, nil, e.serveArgs(filepath.Join(e.Dir, "snapshots"), "--snapshot-every", "4s", "--run-on-start", "--"+testShortIntervalsFlag)...)

	// two snapshots in a row, each followed by a probe, and never a drift
	var successes, probes []time.Time
	seen := func(ts []time.Time, t time.Time) []time.Time {
		if t.IsZero() || (len(ts) > 0 && !t.After(ts[len(ts)-1])) {
			return ts
		}
		return append(ts, t)
	}
	s.waitHealth(t, 3*time.Minute, func(_ int, st schedule.Status) bool {
		assert.Empty(t, st.Drift, "no drift: %+v", st)
		successes, probes = seen(successes, st.LastSuccess), seen(probes, st.LastProbe)
		return len(successes) >= 2 && len(probes) >= 2
	})
	code, st := s.health(t)
	assert.Equal(t, 200, code, "%+v", st)
	assert.Empty(t, st.Drift)
	r := s.stop(t, time.Minute)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "page drift began")
	assert.Empty(t, e.Server.Mutations(), "snapshots and probes change nothing")
	assert.GreaterOrEqual(t, len(dirNames(t, filepath.Join(e.Dir, "snapshots"))), 2, "consecutive snapshots were written")
}
