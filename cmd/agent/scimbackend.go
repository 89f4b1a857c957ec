package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
	"github.com/clay-agent/clay-agent/flows"
)

// scimBackend performs the SCIM service's actions with the flows, in one
// browser kept open between requests. Each action takes the workspace's
// lock, so a command-line run and the service never act at once, and is
// audited as the command-line action is, with the SCIM request's id and
// client on every record.
type scimBackend struct {
	a      *app
	log    *zap.Logger
	alog   *audit.Log
	policy flows.Policy

	lockPath    string
	lockTimeout time.Duration

	mu sync.Mutex // the worker calls one at a time; this guards s against Close
	s  *session
}

var _ scim.Backend = (*scimBackend)(nil)

// session returns the open browser session, opening one when there is
// none or the last one died.
func (b *scimBackend) session(ctx context.Context) (*session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s != nil {
		return b.s, nil
	}
	s, err := b.a.openSession(ctx)
	if err != nil {
		return nil, err
	}
	b.s = s
	return s, nil
}

// drop closes the session after an error that leaves the browser unusable,
// so that the next call starts a fresh one.
func (b *scimBackend) drop(err error) {
	if err == nil || !(errors.Is(err, agent.ErrBrowserGone) || errors.Is(err, agent.ErrLoginRequired) || errors.Is(err, context.DeadlineExceeded)) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s != nil {
		b.s.close()
		b.s = nil
	}
}

// Close closes the browser.
func (b *scimBackend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s != nil {
		b.s.close()
		b.s = nil
	}
}

// Roster reads the Team page with a complete scan.
func (b *scimBackend) Roster(ctx context.Context) (*roster.Roster, error) {
	s, err := b.session(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.team.List(ctx, s.cfg.Workspace)
	if err != nil {
		b.drop(err)
		return nil, err
	}
	return r, nil
}

// Invite invites email as role.
func (b *scimBackend) Invite(ctx context.Context, req scim.Request, email string, role roster.Role) (flows.Result, error) {
	return b.act(ctx, req, "invite "+string(role), email, func(s *session, batch flows.Batch) (flows.Result, error) {
		return s.team.Invite(ctx, email, role, batch)
	})
}

// Offboard removes the member and revokes the pending invitation of email.
func (b *scimBackend) Offboard(ctx context.Context, req scim.Request, email string) (flows.Result, error) {
	return b.act(ctx, req, "offboard", email, func(s *session, batch flows.Batch) (flows.Result, error) {
		rs, err := s.team.Offboard(ctx, []string{email}, batch)
		if len(rs) == 0 {
			if err == nil {
				err = errors.New("offboard returned no result")
			}
			return flows.Result{Email: email, Action: flows.Failed, Detail: err.Error(), Err: err}, err
		}
		return rs[0], err
	})
}

// SetRole changes the role of the member email.
func (b *scimBackend) SetRole(ctx context.Context, req scim.Request, email string, role roster.Role) (flows.Result, error) {
	return b.act(ctx, req, "set-role "+string(role), email, func(s *session, batch flows.Batch) (flows.Result, error) {
		return s.team.SetRole(ctx, email, role, batch)
	})
}

// act runs one action under the workspace lock, audited: a planned record
// first (no action without it), started before the first click, the
// outcome, and the run's end.
func (b *scimBackend) act(ctx context.Context, req scim.Request, command, email string, do func(*session, flows.Batch) (flows.Result, error)) (flows.Result, error) {
	fail := func(err error) (flows.Result, error) {
		return flows.Result{Email: email, Action: flows.Failed, Detail: err.Error(), Err: err}, err
	}
	lk, err := lock.Acquire(ctx, b.lockPath, b.lockTimeout)
	if err != nil {
		return fail(fmt.Errorf("waiting for the workspace lock: %w", err))
	}
	defer func() { _ = lk.Release() }()
	run := b.alog.Plan(ctx, "scim "+command, []string{email}, audit.WithRequest(req.ID, req.Client))
	if err := run.Err(); err != nil {
		return fail(fmt.Errorf("%w: nothing was done: %w", flows.ErrNotRecorded, err))
	}
	s, err := b.session(ctx)
	if err != nil {
		_ = run.Finish(err)
		return fail(err)
	}
	batch := flows.Batch{
		Policy:   b.policy,
		OnStart:  auditStart(run),
		OnResult: auditResult(run, b.log),
	}
	res, err := do(s, batch)
	if err != nil {
		b.drop(err)
	}
	_ = run.Finish(err)
	if werr := run.Err(); werr != nil {
		// the action happened (or not) as res says; its record is lost
		err = errors.Join(err, fmt.Errorf("the audit log could not be written: %w", werr))
		if res.Err == nil {
			res.Err = err
		}
	}
	return res, err
}
