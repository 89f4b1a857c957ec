package flows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// open starts a browser on the fixture's Team page, with the session
// installed, and closes it when the test ends.
func open(t *testing.T, env *fixturetest.Env, step time.Duration) *flows.Team {
	t.Helper()
	cfg := env.Config(t, step)
	ctx := context.Background()
	b, err := agent.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	state, err := agent.LoadSession(cfg.SessionFile, time.Now())
	require.NoError(t, err)
	require.NoError(t, b.SetSession(ctx, state))
	teamURL, err := cfg.TeamURL()
	require.NoError(t, err)
	return flows.NewTeam(b, teamURL, flows.WithTotalTimeout(2*time.Minute))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var renditions = fixtures.Renditions()
