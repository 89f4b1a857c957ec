package plan

import (
	"fmt"
	"time"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// BuildOptions say what a plan may hold.
type BuildOptions struct {
	// MaxRemovals is the plan's own bound on removals (0: none).
	MaxRemovals int
	// AllowDomains, when set, keeps out of the plan every address outside
	// them.
	AllowDomains []string
	// OffboardUnknown plans the seats no identity source knows.
	OffboardUnknown bool
}

// Build turns the findings of a reconciliation of r with dirs into a plan
// made at now, and says why each finding that is not planned was left
// out. The signed-in user is never planned.
func Build(r *roster.Roster, dirs []*idp.Directory, rep *idp.Report, o BuildOptions, now time.Time) (*Plan, []string) {
	p := &Plan{
		Version:   Version,
		Workspace: r.Workspace,
		CreatedAt: now.UTC().Truncate(time.Second),
		Roster:    RosterDigest(r),
		Limits:    Limits{MaxRemovals: o.MaxRemovals, AllowDomains: o.AllowDomains, OffboardUnknown: o.OffboardUnknown},
	}
	for _, d := range dirs {
		p.Sources = append(p.Sources, Source{Source: d.Source, Format: string(d.Format), Digest: d.Digest, People: len(d.People)})
	}
	self, _ := r.Self()
	policy := core.Policy{AllowDomains: o.AllowDomains}
	var notes []string
	for _, row := range rep.Findings {
		kind, note := plannedKind(row, o.OffboardUnknown)
		switch {
		case note != "":
			notes = append(notes, note)
			continue
		case kind == "":
			continue
		case row.Kind == idp.KindMember && self.Email != "" && roster.SameEmail(self.Email, row.Email):
			notes = append(notes, fmt.Sprintf("%s %s: the signed-in user is never offboarded", row.Finding, row.Email))
			continue
		case policy.CheckDomain(row.Email) != nil:
			notes = append(notes, fmt.Sprintf("%s %s: not planned: outside --allow-domain", row.Finding, row.Email))
			continue
		}
		p.Actions = append(p.Actions, Action{Action: kind, Email: row.Email, Reason: string(row.Finding), Kind: string(row.Kind), Role: string(row.Role)})
	}
	p.Others = OthersDigest(r, p.Targets())
	return p, notes
}

// plannedKind is the action a finding plans, or the note saying why it
// plans none; neither for a finding that needs no action.
func plannedKind(row idp.Row, offboardUnknown bool) (ActionKind, string) {
	switch row.Finding {
	case idp.FindingInactiveInIdP:
		return Offboard, ""
	case idp.FindingInvitationInactiveInIdP:
		return Revoke, ""
	case idp.FindingNotInIdP, idp.FindingInvitationNotInIdP:
		if !offboardUnknown {
			return "", fmt.Sprintf("%s %s: not planned (no source knows it; --offboard-unknown plans it)", row.Finding, row.Email)
		}
		if row.Kind == idp.KindInvitation {
			return Revoke, ""
		}
		return Offboard, ""
	case idp.FindingExternal, idp.FindingInvitationExternal:
		return "", fmt.Sprintf("%s %s: never acted on, only reported", row.Finding, row.Email)
	case idp.FindingUnreadable, idp.FindingInvitationUnreadable:
		return "", fmt.Sprintf("%s row %q: its address could not be read, so it cannot be planned", row.Finding, row.Name)
	}
	return "", ""
}

// Summary counts a plan's actions, e.g. "with 2 offboarding(s) and 1
// revocation(s)".
func Summary(p *Plan) string {
	off, rev := 0, 0
	for _, a := range p.Actions {
		if a.Action == Offboard {
			off++
		} else {
			rev++
		}
	}
	return fmt.Sprintf("with %d offboarding(s) and %d revocation(s)", off, rev)
}
