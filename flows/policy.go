package flows

import (
	"fmt"
	"strings"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// DefaultMaxRemovals is the default bound on removals in one run.
const DefaultMaxRemovals = 10

// Policy holds the safety rules that no flag can turn into a guess: a
// refused target is reported with agent.ErrRefused and nothing is clicked.
type Policy struct {
	// MaxRemovals bounds the removals (members and invitations) in one
	// run. Zero means DefaultMaxRemovals; a negative value means no bound.
	MaxRemovals int
	// AllowDomains, when not empty, are the only email domains a command
	// may touch.
	AllowDomains []string
}

func (p Policy) maxRemovals() int {
	if p.MaxRemovals == 0 {
		return DefaultMaxRemovals
	}
	return p.MaxRemovals
}

// checkRemovals refuses a run of n removals when that is more than the
// policy allows; what describes them, e.g. "make %d removals".
func (p Policy) checkRemovals(n int, what string) error {
	if max := p.maxRemovals(); max >= 0 && n > max {
		return refusal("this run would "+what+", more than --max-removals %d; nothing was done", n, max)
	}
	return nil
}

// CheckDomain refuses an email outside AllowDomains. It needs no browser.
func (p Policy) CheckDomain(email string) error {
	if len(p.AllowDomains) == 0 {
		return nil
	}
	_, domain, _ := strings.Cut(roster.NormalizeEmail(email), "@")
	for _, d := range p.AllowDomains {
		if domain == strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@")) {
			return nil
		}
	}
	return refusal("%s is outside the allowed domains (%s)", email, strings.Join(p.AllowDomains, ", "))
}

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
// operator, before any browser starts: each must be a valid address, and
// duplicates are dropped. Bad input wraps agent.ErrUsage. The allowed
// domains are enforced by the flows, which record each refusal.
func ValidateTargets(emails []string, p Policy) ([]string, error) {
	if len(emails) == 0 {
		return nil, fmt.Errorf("%w: no email given (use --email or --from-file)", agent.ErrUsage)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(emails))
	for _, e := range emails {
		n, err := roster.ParseEmail(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", agent.ErrUsage, err)
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}
