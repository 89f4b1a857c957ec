package flows

import (
	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// DefaultMaxRemovals is the default bound on removals in one run.
const DefaultMaxRemovals = core.DefaultMaxRemovals

// Policy holds the safety rules of a run (see core.Policy).
type Policy = core.Policy

// checkRemoval refuses to remove the signed-in user or the last Admin.
func checkRemoval(r *roster.Roster, m roster.Member) error {
	if m.You {
		return refusal("%s is the signed-in user; the agent never removes its own account", m.Email)
	}
	if m.Role == roster.Admin && r.Admins() <= 1 {
		return refusal("%s is the last Admin; a workspace needs at least one", m.Email)
	}
	return nil
}

// checkRoleChange refuses to demote the signed-in user or the last Admin.
func checkRoleChange(r *roster.Roster, m roster.Member, to roster.Role) error {
	if m.Role != roster.Admin || to == roster.Admin {
		return nil
	}
	if m.You {
		return refusal("%s is the signed-in user; the agent never demotes its own account", m.Email)
	}
	if r.Admins() <= 1 {
		return refusal("%s is the last Admin; a workspace needs at least one", m.Email)
	}
	return nil
}

// ValidateTargets normalizes and checks a list of emails given by an
// operator, before any browser starts (see core.ValidateTargets).
func ValidateTargets(emails []string, _ Policy) ([]string, error) {
	return core.ValidateTargets(emails)
}
