package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
	"github.com/clay-agent/clay-agent/flows"
)

// scimBackend performs the SCIM service's actions with the flows, in one
// browser kept open between requests. Each action runs through the
// engine: it takes the workspace's lock, so a command-line run and the
// service never act at once, and is audited as the command-line action
// is, with the SCIM request's id and client on every record.
type scimBackend struct {
	log    *zap.Logger
	alog   *audit.Log
	policy flows.Policy

	lockPath    string
	lockTimeout time.Duration

	// sessions keeps the browser open between calls; the worker calls
	// one at a time.
	sessions *engine.Keeper
	// before, when set, is called before each action (app.scimBeforeAction).
	before func(command, email string)
}

var _ scim.Backend = (*scimBackend)(nil)

// newSCIMBackend is the app's scimBackendMaker: a backend whose browser
// opens on first use.
func (a *app) newSCIMBackend(log *zap.Logger, alog *audit.Log, policy flows.Policy, lockPath string, lockTimeout time.Duration) scimServiceBackend {
	return &scimBackend{log: log, alog: alog, policy: policy, lockPath: lockPath, lockTimeout: lockTimeout,
		sessions: &engine.Keeper{Open: a.openEngineSession}, before: a.scimBeforeAction}
}

// Close closes the browser.
func (b *scimBackend) Close() { b.sessions.Close() }

// Roster reads the Team page with a complete scan.
func (b *scimBackend) Roster(ctx context.Context) (*roster.Roster, error) {
	s, err := b.sessions.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.(*session).team.List(ctx, s.(*session).cfg.Workspace)
	if err != nil {
		b.sessions.Drop(err)
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

// Revoke revokes the pending invitation of email, leaving a member alone:
// the first step of changing an invitation's role, which the page cannot
// change in place.
func (b *scimBackend) Revoke(ctx context.Context, req scim.Request, email string) (flows.Result, error) {
	return b.act(ctx, req, "revoke", email, func(s *session, batch flows.Batch) (flows.Result, error) {
		rs, err := s.team.Revoke(ctx, []string{email}, batch)
		if len(rs) == 0 {
			if err == nil {
				err = errors.New("revoke returned no result")
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

// act runs one action through the engine: under the workspace lock, a
// planned record first (no action without it), started before the first
// click, the outcome, and the run's end.
func (b *scimBackend) act(ctx context.Context, req scim.Request, command, email string, do func(*session, flows.Batch) (flows.Result, error)) (flows.Result, error) {
	if b.before != nil {
		b.before(command, email)
	}
	out := engine.Execute(ctx, engine.Run{
		Command: "scim " + command, Targets: []string{email}, Policy: b.policy,
		Lock:         workspaceLock(b.lockPath, b.lockTimeout),
		Audit:        func() (*audit.Log, func(), error) { return b.alog, func() {}, nil },
		AuditOptions: []audit.RunOption{audit.WithRequest(req.ID, req.Client)},
		Sessions:     b.sessions,
		Log:          b.log,
		Flow: func(_ context.Context, s engine.Session, batch flows.Batch) ([]flows.Result, error) {
			res, err := do(s.(*session), batch)
			return []flows.Result{res}, err
		},
	})
	err := out.Err
	var res flows.Result
	switch {
	case out.Stage == engine.StageFlow && len(out.Results) > 0:
		res = out.Results[0]
	case err == nil:
		err = errors.New("the action returned no result")
		res = core.FailedResult(email, err)
	default:
		res = core.FailedResult(email, err)
	}
	if out.AuditErr != nil {
		// the action happened (or not) as res says; its record is lost
		err = errors.Join(err, fmt.Errorf("the audit log could not be written: %w", out.AuditErr))
		if res.Err == nil {
			res.Err = err
		}
	}
	return res, err
}
