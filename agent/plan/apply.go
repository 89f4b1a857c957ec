package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// DefaultMaxAge is how old a plan may be when it is applied.
const DefaultMaxAge = 24 * time.Hour

// Errors of approval and apply. Each wraps agent.ErrRefused (exit 5).
var (
	// ErrNotApproved: apply requires an approval and the plan has none.
	ErrNotApproved = fmt.Errorf("%w: the plan is not approved", agent.ErrRefused)
	// ErrApprovalMismatch: the approval is for another plan, or the plan
	// changed after it was approved.
	ErrApprovalMismatch = fmt.Errorf("%w: the approval does not match the plan", agent.ErrRefused)
	// ErrStale: the plan is too old, or the page changed in a way the plan
	// did not see.
	ErrStale = fmt.Errorf("%w: the plan is stale", agent.ErrRefused)
	// ErrOtherWorkspace: the plan was made for another workspace.
	ErrOtherWorkspace = fmt.Errorf("%w: the plan is for another workspace", agent.ErrRefused)
)

// Approval binds a person to a plan: the digest of the plan file they
// approved. It is kept beside the plan (ApprovalPath).
type Approval struct {
	Plan      string    `json:"plan_digest"`
	Workspace string    `json:"workspace"`
	By        string    `json:"approved_by"`
	At        time.Time `json:"approved_at"`
}

// ApprovalPath is where the approval of the plan at planPath is kept.
func ApprovalPath(planPath string) string { return planPath + ".approval.json" }

// Approve records that by approved the plan at planPath as it is now, and
// returns the approval. It overwrites an earlier approval of that plan.
func Approve(planPath, by string, now time.Time) (*Approval, error) {
	if strings.TrimSpace(by) == "" {
		return nil, errors.New("plan: approve: no approver")
	}
	p, digest, err := Read(planPath)
	if err != nil {
		return nil, err
	}
	a := &Approval{Plan: digest, Workspace: p.Workspace, By: by, At: now.UTC()}
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("plan: approve: %w", err)
	}
	if err := fsutil.WriteFileAtomic(ApprovalPath(planPath), append(data, '\n'), FileMode); err != nil {
		return nil, fmt.Errorf("plan: approve: %w", err)
	}
	return a, nil
}

// CheckApproval returns the approval of the plan whose digest is digest,
// kept beside planPath. No approval is ErrNotApproved; an approval of
// other bytes is ErrApprovalMismatch.
func CheckApproval(planPath, digest string) (*Approval, error) {
	data, err := os.ReadFile(ApprovalPath(planPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s (run agent approve %s)", ErrNotApproved, ApprovalPath(planPath), planPath)
	}
	if err != nil {
		return nil, fmt.Errorf("plan: read the approval: %w", err)
	}
	var a Approval
	if err := json.Unmarshal(data, &a); err != nil || a.Plan == "" || a.By == "" {
		return nil, fmt.Errorf("%w: %s is not an approval", ErrApprovalMismatch, ApprovalPath(planPath))
	}
	if a.Plan != digest {
		return nil, fmt.Errorf("%w: %s approved plan %s, but the plan is now %s: it changed after the approval", ErrApprovalMismatch, a.By, ShortDigest(a.Plan), ShortDigest(digest))
	}
	return &a, nil
}

// ShortDigest is the first 12 hex digits of a digest, enough to name a
// plan in messages and audit commands.
func ShortDigest(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// Difference is a target whose state changed in a way the plan did not
// see.
type Difference struct {
	Email string `json:"email"`
	// Was is what the plan saw, Now what the page shows.
	Was string `json:"was"`
	Now string `json:"now"`
}

func (d Difference) String() string { return fmt.Sprintf("%s: was %s, now %s", d.Email, d.Was, d.Now) }

// Checked is a plan compared with the page as it is now.
type Checked struct {
	// Do are the actions still to take.
	Do []Action
	// Done are the actions whose target is already gone.
	Done []Action
}

// Check compares p with r, the roster read just now, at now. An action
// whose target is gone is done. A target whose kind or role changed is a
// Difference, and any Difference makes the whole plan stale (an error
// wrapping ErrStale that lists them), as does a plan older than maxAge.
// A target that may hide in a row the page script could not read is kept
// to do: the flow then refuses to call it absent.
func Check(p *Plan, r *roster.Roster, now time.Time, maxAge time.Duration) (*Checked, error) {
	if r.Workspace != "" && p.Workspace != r.Workspace {
		return nil, fmt.Errorf("%w: it was made for workspace %s, not %s", ErrOtherWorkspace, p.Workspace, r.Workspace)
	}
	if age := now.Sub(p.CreatedAt); maxAge > 0 && age > maxAge {
		return nil, fmt.Errorf("%w: it was made %s ago, at %s (--max-plan-age %s): make a new plan", ErrStale, age.Round(time.Minute), p.CreatedAt.UTC().Format(time.RFC3339), maxAge)
	}
	out := &Checked{}
	var diffs []Difference
	for _, a := range p.Actions {
		now, ok := stateOf(r, a.Email)
		was := state(a.Kind, a.Role)
		switch {
		case !ok && len(r.UnreadableFor(KindMember, a.Email))+len(r.UnreadableFor(KindInvitation, a.Email)) > 0:
			out.Do = append(out.Do, a)
		case !ok:
			out.Done = append(out.Done, a)
		case now != was:
			diffs = append(diffs, Difference{Email: a.Email, Was: was, Now: now})
		default:
			out.Do = append(out.Do, a)
		}
	}
	if len(diffs) > 0 {
		parts := make([]string, len(diffs))
		for i, d := range diffs {
			parts[i] = d.String()
		}
		return nil, fmt.Errorf("%w: the page changed in a way the plan did not see: %s", ErrStale, strings.Join(parts, "; "))
	}
	return out, nil
}

// state describes a target as "member (Editor)" or "invitation (Viewer)".
func state(kind, role string) string {
	return kind + " (" + string(roster.CanonicalRole(role)) + ")"
}

// stateOf is what the page shows for email: its member row, else its
// pending invitation. A member with a pending invitation too is described
// by the member row.
func stateOf(r *roster.Roster, email string) (string, bool) {
	if ms := r.FindMembers(email); len(ms) > 0 {
		return state(KindMember, string(ms[0].Role)), true
	}
	if is := r.FindInvitations(email); len(is) > 0 {
		return state(KindInvitation, string(is[0].Role)), true
	}
	return "", false
}
