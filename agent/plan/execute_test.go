package plan

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// fakeTeam is a Team page without a browser: it removes what it is told
// to and notes the policy each flow ran under.
type fakeTeam struct {
	r        *roster.Roster
	policies []core.Policy
	calls    []string
}

func (f *fakeTeam) List(context.Context) (*roster.Roster, error) { return f.r, nil }

func (f *fakeTeam) act(kind string, action core.Action) func(context.Context, []string, core.Policy, func(core.Result)) ([]core.Result, error) {
	return func(_ context.Context, emails []string, p core.Policy, onResult func(core.Result)) ([]core.Result, error) {
		f.policies = append(f.policies, p)
		var out []core.Result
		for _, e := range emails {
			f.calls = append(f.calls, kind+" "+e)
			res := core.Result{Email: e, Action: action, Clicked: true}
			onResult(res)
			out = append(out, res)
		}
		return out, nil
	}
}

func (f *fakeTeam) Offboard(ctx context.Context, emails []string, p core.Policy, onResult func(core.Result)) ([]core.Result, error) {
	return f.act("offboard", core.Removed)(ctx, emails, p, onResult)
}

func (f *fakeTeam) Revoke(ctx context.Context, emails []string, p core.Policy, onResult func(core.Result)) ([]core.Result, error) {
	return f.act("revoke", core.RevokedInvitation)(ctx, emails, p, onResult)
}

// TestApply: the actions still to do run under the stricter policy, the
// ones already done are reported, every outcome reaches OnResult and the
// ledger, and a plan over the bound acts on nobody.
func TestApply(t *testing.T) {
	tests := []struct {
		name      string
		roster    func(*roster.Roster)
		policy    core.Policy
		dryRun    bool
		calls     []string
		actions   []core.Action
		ledger    int
		maxRemove int
	}{
		{name: "both to do", policy: core.Policy{MaxRemovals: 50},
			calls:   []string{"offboard john.smith@acme.test", "revoke pending.one@acme.test"},
			actions: []core.Action{core.Removed, core.RevokedInvitation}, ledger: 2, maxRemove: 10},
		{name: "the invitation is gone already", policy: core.Policy{MaxRemovals: 5},
			roster:  func(r *roster.Roster) { r.Invitations = nil },
			calls:   []string{"offboard john.smith@acme.test"},
			actions: []core.Action{core.AlreadyAbsent, core.Removed}, ledger: 2, maxRemove: 5},
		{name: "a dry run keeps no ledger", policy: core.Policy{MaxRemovals: 50}, dryRun: true,
			calls:   []string{"offboard john.smith@acme.test", "revoke pending.one@acme.test"},
			actions: []core.Action{core.Removed, core.RevokedInvitation}, ledger: 0, maxRemove: 10},
		{name: "over the operator's bound", policy: core.Policy{MaxRemovals: 1},
			actions: []core.Action{core.Refused, core.Refused}, ledger: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRoster()
			if tc.roster != nil {
				tc.roster(r)
			}
			team := &fakeTeam{r: r}
			dir := t.TempDir()
			var reported []core.Action
			ap := &Applier{Plan: testPlan(), Now: func() time.Time { return t0.Add(time.Hour) }, MaxAge: DefaultMaxAge,
				History: &History{}, Ledger: &Ledger{Plan: "d1", Workspace: "1234"}, LedgerDir: dir,
				Policy: tc.policy, DryRun: tc.dryRun,
				OnResult:      func(res core.Result) { reported = append(reported, res.Action) },
				OnLedgerError: func(err error) { t.Errorf("ledger: %v", err) }}
			got, err := ap.Apply(context.Background(), team)
			require.NoError(t, err)
			var actions []core.Action
			for _, res := range got {
				actions = append(actions, res.Action)
			}
			assert.Equal(t, tc.actions, actions)
			assert.Equal(t, tc.actions, reported, "every outcome is reported as it is known")
			assert.Equal(t, tc.calls, team.calls)
			for _, p := range team.policies {
				assert.Equal(t, tc.maxRemove, p.MaxRemovals, "the stricter of the operator's bound and the plan's")
			}
			l, err := ReadLedger(dir, "d1")
			require.NoError(t, err)
			assert.Len(t, l.Done, tc.ledger)
			if tc.actions[0] == core.Refused {
				assert.ErrorIs(t, got[0].Err, core.ErrRefused)
			}
		})
	}
}
