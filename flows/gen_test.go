package flows_test

import (
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// genSeedsEnv sets how many date seeds TestGeneratedRenditions adds to the
// covering set ("make test-renditions" sets 300).
const genSeedsEnv = "GEN_SEEDS"

// dateSeeds returns n seeds derived from the day, so each day's run adds
// renditions of its own while any of them can be served again.
func dateSeeds(day time.Time, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		f := fnv.New64a()
		fmt.Fprintf(f, "%s/%d", day.UTC().Format(time.DateOnly), i)
		out[i] = f.Sum64() % 1_000_000_000
	}
	return out
}

// genCase is one rendition of TestGeneratedRenditions: a generated page,
// with the Chaos fault or without.
type genCase struct {
	gen   fixtures.Gen
	chaos bool
}

func genCases(t *testing.T) []genCase {
	var cases []genCase
	for _, g := range fixtures.CoveringSet() {
		cases = append(cases, genCase{gen: g})
	}
	n := 8
	if v := os.Getenv(genSeedsEnv); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "%s must be a number", genSeedsEnv)
	}
	for i, s := range dateSeeds(time.Now(), n) {
		cases = append(cases, genCase{gen: fixtures.Generate(s), chaos: i%2 == 0})
	}
	return cases
}

// TestGeneratedRenditions runs every flow on a covering set of generated
// renditions (every value of every dimension, every pair of values of
// row × scroller × list × re-rendering × invitations) and on seeds of the
// day, half of them under chaos. It prints the coverage table and fails
// on any value or pair no rendition exercised.
func TestGeneratedRenditions(t *testing.T) {
	cases := genCases(t)
	var mu sync.Mutex
	var passed []fixtures.Gen
	started := 0
	t.Run("renditions", func(t *testing.T) {
		for _, c := range cases {
			name := c.gen.Name()
			if c.chaos {
				name += "+chaos"
			}
			t.Run(name, func(t *testing.T) {
				mu.Lock()
				started++
				mu.Unlock()
				t.Parallel()
				t.Log(c.gen.String())
				runGenFlows(t, c)
				if !t.Failed() {
					mu.Lock()
					passed = append(passed, c.gen)
					mu.Unlock()
				}
			})
		}
	})
	// Only renditions whose every flow passed count as exercised.
	cov := fixtures.Cover(passed)
	t.Logf("coverage of the %d of %d generated renditions that passed:\n%s", len(passed), started, cov.Table())
	if started < len(cases) {
		t.Logf("coverage not enforced: -run chose %d of the %d renditions", started, len(cases))
		return
	}
	if missing := cov.Missing(); len(missing) > 0 {
		t.Errorf("%d values or pairs no passing rendition exercised: %s", len(missing), strings.Join(missing, "; "))
	}
}

// runGenFlows runs list, doctor, invite, set-role, offboard and revoke on
// one generated rendition and checks each against the server's state.
func runGenFlows(t *testing.T, c genCase) {
	g := c.gen
	env := fixturetest.Start(t, fixtures.WithRendition(g.Name()))
	if c.chaos {
		env.Server.SetFaults(fixtures.Faults{Chaos: fixtures.ChaosFault{Enabled: true, Seed: int64(g.Seed)}})
	}
	t.Cleanup(func() {
		assert.Empty(t, env.Server.GenCheckFailures(), "the page is not what its seed says")
	})
	team := open(t, env, 20*time.Second)
	ctx := testContext(t)
	batch := flows.Batch{}

	listMatches := func(step string) {
		t.Helper()
		r, err := team.List(ctx, env.Server.Workspace())
		require.NoError(t, err, "%s: %s", step, g)
		assertRosterIs(t, env.Server, r, step)
	}
	listMatches("list")

	p, err := team.Probe(ctx)
	require.NoError(t, err)
	assert.Empty(t, p.Drift(), "doctor on a healthy page: %+v", p.Checks)

	throwaway := "gen-" + strconv.FormatUint(g.Seed, 10) + "@smoke.example.test"
	res, err := team.Invite(ctx, throwaway, roster.Editor, batch)
	require.NoError(t, err)
	require.Equal(t, flows.Invited, res.Action, "%s", res.Detail)
	_, err = env.Server.AcceptInvitation(throwaway)
	require.NoError(t, err)
	require.NoError(t, team.Reload(ctx))

	if g.Is(fixtures.DimViewer, fixtures.ViewerAbsent) {
		before := len(env.Server.Mutations())
		res, err = team.SetRole(ctx, throwaway, roster.Viewer, batch)
		if err == nil {
			assert.NotEqual(t, flows.RoleChanged, res.Action, "a role the page does not offer")
		}
		assert.Len(t, env.Server.Mutations(), before, "nothing is sent for a role the page does not offer")
		res, err = team.SetRole(ctx, throwaway, roster.SalesRep, batch)
	} else {
		res, err = team.SetRole(ctx, throwaway, roster.Viewer, batch)
	}
	require.NoError(t, err)
	require.Equal(t, flows.RoleChanged, res.Action, "%s", res.Detail)

	targets := []string{throwaway}
	switch g.Choices[fixtures.DimNames] {
	case fixtures.NamesEmail:
		targets = append(targets, "nameless@acme.test")
	case fixtures.NamesEmailCase:
		targets = append(targets, "blank.case@acme.test")
	case fixtures.NamesOther:
		targets = append(targets, "marcus.hale@acme.test")
	case fixtures.NamesDuplicate:
		targets = append(targets, "sam.lee2@acme.test")
	}
	rs, err := team.Offboard(ctx, targets, batch)
	require.NoError(t, err)
	for _, r := range rs {
		assert.Equal(t, flows.Removed, r.Action, "%s: %s", r.Email, r.Detail)
	}
	for _, e := range targets {
		assert.Negative(t, memberIndex(env.Server, e), "%s is gone", e)
	}
	if g.Is(fixtures.DimNames, fixtures.NamesOther) {
		assert.GreaterOrEqual(t, memberIndex(env.Server, "mallory@acme.test"), 0, "the member named like another's email is untouched")
	}

	rs, err = team.Revoke(ctx, []string{"pending.one@acme.test"}, batch)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, flows.RevokedInvitation, rs[0].Action, "%s", rs[0].Detail)

	require.NoError(t, team.Reload(ctx))
	listMatches("list again")
}

func memberIndex(s *fixtures.Server, email string) int {
	for i, m := range s.Members() {
		if strings.EqualFold(m.Email, email) {
			return i
		}
	}
	return -1
}

// assertRosterIs asserts that r holds exactly the server's members and
// invitations, each once, with their roles.
func assertRosterIs(t *testing.T, s *fixtures.Server, r *roster.Roster, step string) {
	t.Helper()
	want := map[string]string{}
	for _, m := range s.Members() {
		want[strings.ToLower(m.Email)] = m.Role
	}
	got := map[string]string{}
	var dups []string
	for _, m := range r.Members {
		k := strings.ToLower(string(m.Email))
		if _, seen := got[k]; seen {
			dups = append(dups, k)
		}
		got[k] = string(m.Role)
	}
	sort.Strings(dups)
	assert.Empty(t, dups, "%s: members listed twice", step)
	assert.Empty(t, r.Unreadable, "%s: rows the agent could not read", step)
	assert.Equal(t, want, got, "%s: members and roles", step)
	var wantInv, gotInv []string
	for _, inv := range s.Invitations() {
		wantInv = append(wantInv, strings.ToLower(inv.Email))
	}
	for _, inv := range r.Invitations {
		gotInv = append(gotInv, strings.ToLower(string(inv.Email)))
	}
	sort.Strings(wantInv)
	sort.Strings(gotInv)
	assert.Equal(t, wantInv, gotInv, "%s: invitations", step)
}
