package main

import (
	"context"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

// smokeCycle is one smoke run in one browser: login → list → invite →
// accept → set-role → offboard → invite again → revoke → list again, on
// two throwaway addresses.
type smokeCycle struct {
	opts   *smokeOptions
	target smokeTarget
	steps  []smokeStep
	failed bool

	browser smokeBrowser
	// first is the list as the run found it.
	first *roster.Roster
	// throwaway is invited, accepted, changed and removed; second is
	// invited and revoked.
	throwaway, second string
	batch             flows.Batch
}

// cycle runs the cycle on t and returns its steps; it stops at the first
// failed step and marks the rest skipped, keeping the page's artifacts.
func (o *smokeOptions) cycle(ctx context.Context, t smokeTarget) []smokeStep {
	now := o.now().UTC()
	stamp := now.Format("20060102t150405") + fmt.Sprintf("%04d", now.Nanosecond()/100000)
	c := &smokeCycle{opts: o, target: t,
		throwaway: "smoke-" + stamp + "@smoke.example.test", second: "smoke-" + stamp + "-b@smoke.example.test"}
	defer func() {
		if c.browser != nil {
			c.browser.Close()
		}
	}()
	for _, st := range []struct {
		name string
		do   func(context.Context) (string, error)
	}{
		{"start browser", c.startBrowser}, {"login", c.login}, {"list", c.list},
		{"invite", c.invite}, {"accept (fixture)", c.accept}, {"set-role", c.setRole},
		{"offboard", c.offboard}, {"invite again", c.inviteAgain}, {"revoke", c.revoke},
		{"list again", c.listAgain},
	} {
		c.run(ctx, st.name, st.do)
	}
	if c.failed && c.browser != nil {
		paths, _ := c.browser.SaveArtifacts("smoke-" + t.rendition)
		o.noteArtifacts(paths)
	}
	return c.steps
}

// run runs one step, timed, unless an earlier one failed.
func (c *smokeCycle) run(ctx context.Context, name string, do func(context.Context) (string, error)) {
	st := smokeStep{Rendition: c.target.rendition, Step: name}
	if c.failed {
		st.Skipped, st.Detail = true, "skipped after a failure"
		c.steps = append(c.steps, st)
		return
	}
	start := c.opts.now()
	detail, err := do(ctx)
	st.Duration = c.opts.now().Sub(start)
	st.OK, st.Detail, st.err = err == nil, detail, err
	if err != nil {
		st.Detail = err.Error()
		c.failed = true
	}
	c.steps = append(c.steps, st)
}

func (c *smokeCycle) startBrowser(ctx context.Context) (string, error) {
	cfg := c.opts.cfg
	cfg.BaseURL, cfg.Workspace, cfg.TeamPath = c.target.base, c.target.workspace, c.target.teamPath
	teamURL, err := cfg.TeamURL()
	if err != nil {
		return "", err
	}
	if c.browser, err = c.opts.openBrowser(ctx, cfg, teamURL); err != nil {
		return "", err
	}
	return teamURL, nil
}

func (c *smokeCycle) login(ctx context.Context) (string, error) {
	if _, err := c.browser.Login(ctx, c.target.email, c.target.password); err != nil {
		return "", err
	}
	return "signed in as " + c.target.email, nil
}

func (c *smokeCycle) list(ctx context.Context) (string, error) {
	r, err := c.browser.List(ctx, c.target.workspace)
	if err != nil {
		return "", err
	}
	if _, ok := r.Self(); !ok || len(r.Members) == 0 {
		return "", fmt.Errorf("%w: the list shows no signed-in member", agent.ErrNotVerified)
	}
	c.first = r
	return fmt.Sprintf("%d members, %d invitations", len(r.Members), len(r.Invitations)), nil
}

func (c *smokeCycle) invite(ctx context.Context) (string, error) {
	res, err := c.browser.Invite(ctx, c.throwaway, roster.Editor, c.batch)
	return expectAction(res, err, flows.Invited)
}

func (c *smokeCycle) accept(ctx context.Context) (string, error) {
	if err := c.opts.accept(ctx, c.target.base, c.throwaway); err != nil {
		return "", err
	}
	return c.throwaway + " accepted", c.browser.Reload(ctx)
}

func (c *smokeCycle) setRole(ctx context.Context) (string, error) {
	res, err := c.browser.SetRole(ctx, c.throwaway, roster.Viewer, c.batch)
	return expectAction(res, err, flows.RoleChanged)
}

func (c *smokeCycle) offboard(ctx context.Context) (string, error) {
	rs, err := c.browser.Offboard(ctx, []string{c.throwaway}, c.batch)
	return expectOneAction(rs, err, flows.Removed)
}

func (c *smokeCycle) inviteAgain(ctx context.Context) (string, error) {
	res, err := c.browser.Invite(ctx, c.second, roster.Viewer, c.batch)
	return expectAction(res, err, flows.Invited)
}

func (c *smokeCycle) revoke(ctx context.Context) (string, error) {
	rs, err := c.browser.Revoke(ctx, []string{c.second}, c.batch)
	return expectOneAction(rs, err, flows.RevokedInvitation)
}

// listAgain verifies that the page is as the run found it: neither
// throwaway address on it, as many members and invitations as at the
// start.
func (c *smokeCycle) listAgain(ctx context.Context) (string, error) {
	if err := c.browser.Reload(ctx); err != nil {
		return "", err
	}
	r, err := c.browser.List(ctx, c.target.workspace)
	if err != nil {
		return "", err
	}
	for _, e := range []string{c.throwaway, c.second} {
		if len(r.FindMembers(e)) > 0 || len(r.FindInvitations(e)) > 0 {
			return "", fmt.Errorf("%w: %s is still on the page", agent.ErrNotVerified, e)
		}
	}
	if len(r.Members) != len(c.first.Members) || len(r.Invitations) != len(c.first.Invitations) {
		return "", fmt.Errorf("%w: %d members and %d invitations, want %d and %d as at the start", agent.ErrNotVerified, len(r.Members), len(r.Invitations), len(c.first.Members), len(c.first.Invitations))
	}
	return fmt.Sprintf("%d members, %d invitations, as at the start", len(r.Members), len(r.Invitations)), nil
}

// expectAction is a flow's result as a step: its detail when it did
// want, else the failure.
func expectAction(res flows.Result, err error, want flows.Action) (string, error) {
	if err != nil {
		return "", err
	}
	if res.Action != want {
		if res.Err != nil {
			return "", res.Err
		}
		return "", fmt.Errorf("%w: %s: %s, want %s (%s)", agent.ErrNotVerified, res.Email, res.Action, want, res.Detail)
	}
	return res.Detail, nil
}

// expectOneAction is expectAction for a batch of one.
func expectOneAction(rs []flows.Result, err error, want flows.Action) (string, error) {
	if err != nil {
		return "", err
	}
	if len(rs) != 1 {
		return "", fmt.Errorf("%w: %d results, want 1", agent.ErrNotVerified, len(rs))
	}
	return expectAction(rs[0], nil, want)
}
