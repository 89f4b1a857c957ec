package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// DefaultMaxAge is how old a plan may be when it is applied.
const DefaultMaxAge = 24 * time.Hour

// Errors of approval and apply. Each wraps core.ErrRefused (exit 5).
var (
	// ErrNotApproved: apply requires an approval and the plan has none.
	ErrNotApproved = fmt.Errorf("%w: the plan is not approved", core.ErrRefused)
	// ErrApprovalMismatch: the approval is for another plan, or the plan
	// changed after it was approved.
	ErrApprovalMismatch = fmt.Errorf("%w: the approval does not match the plan", core.ErrRefused)
	// ErrStale: the plan is too old, or the page changed in a way the plan
	// did not see.
	ErrStale = fmt.Errorf("%w: the plan is stale", core.ErrRefused)
	// ErrOtherWorkspace: the plan was made for another workspace.
	ErrOtherWorkspace = fmt.Errorf("%w: the plan is for another workspace", core.ErrRefused)
	// ErrAlreadyApplied: every action of the plan was done by an earlier
	// apply. A plan is applied once.
	ErrAlreadyApplied = fmt.Errorf("%w: the plan was applied already", core.ErrRefused)
)

// MaxClockSkew is how far in the future a plan's or an approval's time may
// be: clocks of two machines differ a little, never by hours.
const MaxClockSkew = 5 * time.Minute

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

// CheckTime refuses a plan older than maxAge, or made in the future
// (beyond MaxClockSkew): a future time would keep it fresh for longer
// than maxAge.
func CheckTime(p *Plan, now time.Time, maxAge time.Duration) error {
	if p.CreatedAt.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: it says it was made at %s, later than now (%s): a plan is never made in the future", ErrStale, p.CreatedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if age := now.Sub(p.CreatedAt); maxAge > 0 && age > maxAge {
		return fmt.Errorf("%w: it was made %s ago, at %s (--max-plan-age %s): make a new plan", ErrStale, age.Round(time.Minute), p.CreatedAt.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}

// CheckApplied returns ErrAlreadyApplied when every action of p is in
// done: an earlier apply completed the plan.
func CheckApplied(p *Plan, done map[string]Done) error {
	if len(p.Actions) == 0 || len(done) == 0 {
		return nil
	}
	var last time.Time
	for _, a := range p.Actions {
		d, ok := done[roster.NormalizeEmail(a.Email)]
		if !ok {
			return nil
		}
		if d.At.After(last) {
			last = d.At
		}
	}
	return fmt.Errorf("%w: every action of it was done, the last at %s: a plan is applied once; make a new plan", ErrAlreadyApplied, last.UTC().Format(time.RFC3339))
}

// Check compares p with r, the roster read just now, at now, and with
// done, what earlier applies of p did (see History; nil when none did).
//
// A plan whose every action is in done is ErrAlreadyApplied. An action
// whose target is gone is done. A target whose kind or role changed is a
// Difference, and any Difference makes the whole plan stale (an error
// wrapping ErrStale that lists them), as do a plan older than maxAge or
// made in the future, a change to any seat the plan does not target (the
// roster without its targets no longer matches Others), and a target an
// earlier apply of this plan removed that is on the page again. A target
// that may hide in a row the page script could not read is kept to do: the
// flow then refuses to call it absent.
func Check(p *Plan, r *roster.Roster, now time.Time, maxAge time.Duration, done map[string]Done) (*Checked, error) {
	if r.Workspace != "" && p.Workspace != r.Workspace {
		return nil, fmt.Errorf("%w: it was made for workspace %s, not %s", ErrOtherWorkspace, p.Workspace, r.Workspace)
	}
	if err := CheckApplied(p, done); err != nil {
		return nil, err
	}
	if err := CheckTime(p, now, maxAge); err != nil {
		return nil, err
	}
	if p.Others == "" {
		return nil, fmt.Errorf("%w: it holds no digest of the seats it does not touch (made by an earlier version): make a new plan", ErrStale)
	}
	if got := OthersDigest(r, p.Targets()); got != p.Others {
		return nil, fmt.Errorf("%w: seats the plan does not touch changed since it was made (roster %s, now %s): make a new plan from the page as it is", ErrStale, ShortDigest(p.Others), ShortDigest(got))
	}
	out := &Checked{}
	var diffs []Difference
	var back []string
	for _, a := range p.Actions {
		now, ok := stateOf(r, a.Email)
		if d, did := done[roster.NormalizeEmail(a.Email)]; did && ok {
			back = append(back, fmt.Sprintf("%s (%s by this plan at %s, now %s)", a.Email, d.Outcome, d.At.UTC().Format(time.RFC3339), now))
			continue
		}
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
	if len(back) > 0 {
		return nil, fmt.Errorf("%w: seats an earlier apply of this plan took away are back: %s; a plan acts on a seat once: make a new plan", ErrStale, strings.Join(back, "; "))
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
