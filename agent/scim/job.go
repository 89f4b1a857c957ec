package scim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// jobOp is the action of a job.
type jobOp string

const (
	opInvite   jobOp = "invite"
	opOffboard jobOp = "offboard"
	opSetRole  jobOp = "set-role"
	// opReinvite sets the role of a pending invitation, which the page
	// cannot change: it revokes the invitation and invites again with
	// the new role, in steps kept in the job (see reinvite.go).
	opReinvite jobOp = "reinvite"
)

// jobState is where a job is in its life.
type jobState string

const (
	jobQueued  jobState = "queued"
	jobRunning jobState = "running"
	jobDone    jobState = "done"
)

// recentJobWindow is how long a finished job answers a repeat of the
// request that queued it (a client retrying after a 503).
const recentJobWindow = time.Hour

// job is one action on the workspace, kept in the store from the request
// that asks for it until it is done.
type job struct {
	Seq    uint64      `json:"seq"`
	Op     jobOp       `json:"op"`
	UserID string      `json:"user_id"`
	Email  string      `json:"email"`
	Role   roster.Role `json:"role,omitempty"`
	// OldRole is the role of the pending invitation a reinvite job
	// replaces, the one it invites again with when the new invitation
	// fails.
	OldRole roster.Role `json:"old_role,omitempty"`
	// Step is the step of a reinvite job to do next. It is recorded
	// before that step starts, so a job resumed after a crash goes on
	// from the step it was in.
	Step jobStep `json:"step,omitempty"`
	// Failure is why the invitation with the new role failed, for the
	// answer once the old one is back.
	Failure string `json:"failure,omitempty"`
	// Delete removes the user's resource once offboarded (DELETE).
	Delete   bool      `json:"delete,omitempty"`
	Request  Request   `json:"request"`
	State    jobState  `json:"state"`
	Attempts int       `json:"attempts"`
	Enqueued time.Time `json:"enqueued"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Outcome  *outcome  `json:"outcome,omitempty"`
	// Answered is set once a request got the job's outcome (not a 503):
	// a later identical request is then a new request, not a repeat of an
	// unanswered one, and gets the answer its state calls for (a 409 for
	// a second POST of the same user).
	Answered bool `json:"answered,omitempty"`
}

func (j *job) String() string {
	switch j.Op {
	case opOffboard:
		return fmt.Sprintf("%s %s", j.Op, j.Email)
	case opReinvite:
		return fmt.Sprintf("%s %s as %s (was %s)", j.Op, j.Email, j.Role, j.OldRole)
	}
	return fmt.Sprintf("%s %s as %s", j.Op, j.Email, j.Role)
}

// start marks j running from now, one attempt more.
func (j *job) start(now time.Time) {
	j.State, j.Started = jobRunning, now
	j.Attempts++
}

// finish marks j done at now with the outcome o.
func (j *job) finish(now time.Time, o *outcome) {
	j.State, j.Finished, j.Outcome = jobDone, now, o
}

// unansweredSuccess reports whether j succeeded less than
// recentJobWindow before now and no request got its answer yet.
func (j *job) unansweredSuccess(now time.Time) bool {
	return j.State == jobDone && j.Outcome != nil && j.Outcome.OK && !j.Answered && now.Sub(j.Finished) < recentJobWindow
}

// outcome is how a job ended, and what the requests it serves answer.
type outcome struct {
	OK     bool        `json:"ok"`
	Action core.Action `json:"action,omitempty"`
	Detail string      `json:"detail,omitempty"`
	// Status, ScimType and RetryAfter (seconds) are the error answer
	// when OK is false.
	Status     int      `json:"status,omitempty"`
	ScimType   scimType `json:"scim_type,omitempty"`
	RetryAfter int      `json:"retry_after,omitempty"`
}

// apiError returns the answer of a failed outcome.
func (o *outcome) apiError() *apiError {
	return &apiError{status: o.Status, scimType: o.ScimType, detail: o.Detail, retryAfter: time.Duration(o.RetryAfter) * time.Second}
}

func failedOutcome(action core.Action, e *apiError) *outcome {
	return &outcome{Action: action, Detail: e.detail, Status: e.status, ScimType: e.scimType,
		RetryAfter: int((e.retryAfter + time.Second - 1) / time.Second)}
}

// successes are the results that count as success for each action.
var successes = map[jobOp][]core.Action{
	opInvite:   {core.Invited, core.AlreadyInvited, core.AlreadyMember, core.WouldInvite},
	opOffboard: {core.Removed, core.RevokedInvitation, core.AlreadyAbsent, core.WouldRemove, core.WouldRevoke, core.WouldRemoveRevoked},
	opSetRole:  {core.RoleChanged, core.Unchanged, core.WouldChangeRole},
	opReinvite: {core.RoleChanged, core.Unchanged, core.WouldChangeRole},
}

// errUnexpected marks a result the backend should not have returned.
var errUnexpected = errors.New("unexpected result")

// outcomeOf maps the backend's answer for j.
func outcomeOf(j *job, res core.Result, err error) *outcome {
	if err == nil && res.Err == nil && slices.Contains(successes[j.Op], res.Action) {
		return &outcome{OK: true, Action: res.Action, Detail: res.Detail}
	}
	return failedOf(j.String(), res, err)
}

// failedOf is the outcome of the failed action what, which ended with
// res and err.
func failedOf(what string, res core.Result, err error) *outcome {
	cause := err
	if cause == nil {
		cause = res.Err
	}
	if cause == nil {
		cause = fmt.Errorf("%w %q: %s", errUnexpected, res.Action, res.Detail)
	}
	if res.Action == core.Refused && !errors.Is(cause, core.ErrRefused) {
		cause = fmt.Errorf("%w: %w", core.ErrRefused, cause)
	}
	action := res.Action
	if action == "" {
		action = core.Failed
	}
	return failedOutcome(action, failure(what, cause))
}

// removal reports whether a finished offboarding counts against the
// breaker: a verified removal or revocation (or, in a dry run, one that
// would be), and an already-absent result of a job resumed after a crash,
// whose first attempt may have been the removal.
func removal(j *job, o *outcome) bool {
	if j.Op != opOffboard || !o.OK {
		return false
	}
	switch o.Action {
	case core.Removed, core.RevokedInvitation, core.WouldRemove, core.WouldRevoke, core.WouldRemoveRevoked:
		return true
	case core.AlreadyAbsent:
		return j.Attempts > 1
	}
	return false
}

// effect returns the state a user will be in once j is done.
func (j *job) effect(st state) state {
	switch j.Op {
	case opInvite:
		if !st.Active {
			st.Pending = true
		}
		st.Active, st.Role = true, j.Role
	case opOffboard:
		st.Active, st.Pending = false, false
	case opSetRole, opReinvite:
		st.Role = j.Role
	}
	return st
}

// effective returns the state of the user rec (nil: unknown) once the
// pending jobs for it are done.
func effective(rec *userRecord, pending []*job) state {
	var st state
	if rec != nil {
		st = rec.state()
	}
	for _, j := range pending {
		st = j.effect(st)
	}
	return st
}

// userAfter returns the record of the user of j once j succeeded with
// res: base is the record it starts from (rec, or a new one for an
// invitation of a user not in the store), next the record after. next is
// nil when the job leaves no record to write.
func (j *job) userAfter(rec *userRecord, res core.Result) (base, next *userRecord) {
	if rec == nil {
		if j.Op != opInvite {
			return nil, nil
		}
		rec = &userRecord{ID: j.UserID, Email: j.Email, Doc: map[string]any{
			"userName": j.Email,
			"emails":   []any{map[string]any{"value": j.Email, "type": "work", "primary": true}},
		}}
	}
	next = rec.clone()
	switch j.Op {
	case opInvite:
		next.Active, next.Pending, next.Role = true, true, j.Role
		switch {
		case res.Action == core.AlreadyMember:
			next.Pending = false
			if res.Before.Member != nil && res.Before.Member.Role != "" {
				next.Role = res.Before.Member.Role
			}
		case res.Action == core.AlreadyInvited && res.Before.Invitation != nil && res.Before.Invitation.Role != "":
			next.Role = res.Before.Invitation.Role
		}
	case opOffboard:
		next.Active, next.Pending = false, false
	case opSetRole:
		next.Role = j.Role
	case opReinvite:
		next.Role = j.Role
		if res.Before.Member != nil {
			// the invitation was accepted meanwhile: the member's role was set
			next.Pending = false
		}
	}
	return rec, next
}
