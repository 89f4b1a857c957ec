package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// jobStep is a step of a reinvite job.
type jobStep string

// The steps of a reinvite job, in order; a failed invitation (or one the
// page does not show) leads to stepRestore, an invitation accepted
// meanwhile to stepSetRole.
const (
	stepRevoke  jobStep = "revoke"   // revoke the pending invitation; the zero Step
	stepInvite  jobStep = "invite"   // invite with the new role
	stepVerify  jobStep = "verify"   // read the Team page again: the invitation has the new role
	stepRestore jobStep = "restore"  // invite again with the old role
	stepSetRole jobStep = "set-role" // the invitee is a member now: set the member's role
)

// errStoppedAfterStep is how the worker stops when a test asked it to
// stop, as a crash would, once a reinvite job's step is recorded.
var errStoppedAfterStep = errors.New("stopped after recording a step")

// reinvite does the reinvite job j from its recorded step on, each step
// recorded in the store before it starts: after a crash the job goes on
// from the step it was in. Every step is idempotent on the page (a
// revoked invitation is already-absent, a sent one already-invited), so
// a step that acted just before a crash is not done twice. It returns the
// job's result and outcome; only a store failure is an error.
func (s *Server) reinvite(ctx context.Context, j *job) (core.Result, *outcome, error) {
	start := time.Now()
	defer func() { s.metrics.action.WithLabelValues(string(j.Op)).Observe(time.Since(start).Seconds()) }()
	for {
		next, res, o := s.reinviteStep(ctx, j)
		if o != nil {
			return res, o, nil
		}
		j.Step = next
		if err := s.st.saveJob(j); err != nil {
			return res, nil, err
		}
		s.log.Info("scim role change of a pending invitation: step done", zap.Uint64("job", j.Seq),
			zap.String("email", j.Email), zap.String("next", string(next)), zap.String("detail", res.Detail))
		if s.stopAfter != "" && s.stopAfter == next {
			return res, nil, fmt.Errorf("%w %q of job %d", errStoppedAfterStep, next, j.Seq)
		}
	}
}

// reinviteStep does the step of j: it returns the next step, or the
// job's outcome when the job ends here.
func (s *Server) reinviteStep(ctx context.Context, j *job) (jobStep, core.Result, *outcome) {
	switch j.Step {
	case stepRevoke, "":
		res, err := s.safely(j, func() (core.Result, error) { return s.cfg.Backend.Revoke(ctx, j.Request, j.Email) })
		if err == nil && res.Err == nil && (res.Action == core.RevokedInvitation || res.Action == core.AlreadyAbsent) {
			return stepInvite, res, nil
		}
		what := fmt.Sprintf("the role of %s was not changed: revoking the pending invitation (%s) to invite again as %s", j.Email, j.OldRole, j.Role)
		return "", res, failedOf(what, res, err)
	case stepInvite:
		return s.inviteStep(ctx, j)
	case stepVerify:
		return s.verifyStep(ctx, j)
	case stepRestore:
		res, o := s.restoreStep(ctx, j)
		return "", res, o
	case stepSetRole:
		res, err := s.safely(j, func() (core.Result, error) { return s.cfg.Backend.SetRole(ctx, j.Request, j.Email, j.Role) })
		return "", res, outcomeOf(&job{Op: opSetRole, Email: j.Email, Role: j.Role}, res, err)
	}
	return "", core.Result{}, failedOf(j.String(), core.Result{}, fmt.Errorf("%w: step %q", errUnexpected, j.Step))
}

// inviteStep invites the address of j with the new role: once sent (or
// found sent, by a step done before a crash), the next step verifies it;
// a failure invites again with the old role.
func (s *Server) inviteStep(ctx context.Context, j *job) (jobStep, core.Result, *outcome) {
	res, err := s.safely(j, func() (core.Result, error) { return s.cfg.Backend.Invite(ctx, j.Request, j.Email, j.Role) })
	if err == nil && res.Err == nil {
		switch res.Action {
		case core.Invited, core.AlreadyInvited:
			return stepVerify, res, nil
		case core.AlreadyMember:
			return stepSetRole, res, nil
		}
	}
	j.Failure = failedOf(fmt.Sprintf("inviting it again as %s", j.Role), res, err).Detail
	return stepRestore, res, nil
}

// verifyStep reads the Team page again and checks that the invitation
// (or, once accepted, the member) has the new role.
func (s *Server) verifyStep(ctx context.Context, j *job) (jobStep, core.Result, *outcome) {
	ro, err := s.readRoster(ctx)
	if err == nil && ro == nil {
		err = fmt.Errorf("%w: no roster", errUnexpected)
	}
	if err != nil {
		what := fmt.Sprintf("%s was invited again as %s, but reading the Team page to verify it failed", j.Email, j.Role)
		return "", core.Result{Email: j.Email}, failedOf(what, core.Result{}, err)
	}
	var inv *roster.Invitation
	for i := range ro.Invitations {
		if roster.SameEmail(ro.Invitations[i].Email, j.Email) {
			inv = &ro.Invitations[i]
		}
	}
	var mem *roster.Member
	for i := range ro.Members {
		if roster.SameEmail(ro.Members[i].Email, j.Email) {
			mem = &ro.Members[i]
		}
	}
	switch {
	case inv != nil && roster.CanonicalRole(string(inv.Role)) == j.Role:
		res := core.Result{Email: j.Email, Action: core.RoleChanged,
			Detail: fmt.Sprintf("revoked the pending invitation (%s) and invited again as %s: a new invitation email was sent", j.OldRole, j.Role)}
		return "", res, &outcome{OK: true, Action: res.Action, Detail: res.Detail}
	case mem != nil && roster.CanonicalRole(string(mem.Role)) == j.Role:
		res := core.Result{Email: j.Email, Action: core.RoleChanged, Before: core.State{Member: mem},
			Detail: fmt.Sprintf("invited again as %s; the invitation is accepted", j.Role)}
		return "", res, &outcome{OK: true, Action: res.Action, Detail: res.Detail}
	case mem != nil:
		return stepSetRole, core.Result{Email: j.Email}, nil
	case inv != nil:
		err := fmt.Errorf("%w: the pending invitation of %s shows %s, not %s", core.ErrNotVerified, j.Email, inv.Role, j.Role)
		return "", core.Result{Email: j.Email}, failedOf(fmt.Sprintf("inviting %s again as %s", j.Email, j.Role), core.Result{}, err)
	}
	j.Failure = fmt.Sprintf("%v: the invitation as %s is not on the Team page after it was sent", core.ErrNotVerified, j.Role)
	return stepRestore, core.Result{Email: j.Email}, nil
}

// restoreStep invites the address of j again with the old role, after
// the invitation with the new one failed. Either way the job fails (502):
// the role was not changed, and the invitation is back with the old
// role, or, when that failed too, there is none.
func (s *Server) restoreStep(ctx context.Context, j *job) (core.Result, *outcome) {
	res, err := s.safely(j, func() (core.Result, error) { return s.cfg.Backend.Invite(ctx, j.Request, j.Email, j.OldRole) })
	o := &outcome{Action: core.Failed, Status: http.StatusBadGateway}
	if err == nil && res.Err == nil && (res.Action == core.Invited || res.Action == core.AlreadyInvited || res.Action == core.AlreadyMember) {
		o.Detail = fmt.Sprintf("the role of %s was not changed: %s; the invitation is back as %s (the invitee got a new invitation email)",
			j.Email, j.Failure, j.OldRole)
		return res, o
	}
	again := failedOf(fmt.Sprintf("inviting it again as %s", j.OldRole), res, err).Detail
	o.Detail = fmt.Sprintf("the role of %s was not changed, and %s has no invitation now: %s; %s", j.Email, j.Email, j.Failure, again)
	s.log.Error("scim role change of a pending invitation: the invitation is lost, invite the address again",
		zap.Uint64("job", j.Seq), zap.String("email", j.Email), zap.String("role", string(j.Role)),
		zap.String("old_role", string(j.OldRole)), zap.String("request_id", j.Request.ID), zap.String("detail", o.Detail))
	return res, o
}
