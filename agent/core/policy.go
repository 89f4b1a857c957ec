package core

import (
	"fmt"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// DefaultMaxRemovals is the default bound on removals in one run.
const DefaultMaxRemovals = 10

// Policy holds the safety rules that no flag can turn into a guess: a
// refused target is reported with ErrRefused and nothing is clicked.
type Policy struct {
	// MaxRemovals bounds the removals (members and invitations) in one
	// run. Zero means DefaultMaxRemovals; a negative value means no bound.
	MaxRemovals int
	// AllowDomains, when not empty, are the only email domains a command
	// may touch.
	AllowDomains []string
}

// Removals is the bound on removals in one run; negative means none.
func (p Policy) Removals() int {
	if p.MaxRemovals == 0 {
		return DefaultMaxRemovals
	}
	return p.MaxRemovals
}

// CheckRemovals refuses a run of n removals when that is more than the
// policy allows; what describes them, e.g. "make %d removals".
func (p Policy) CheckRemovals(n int, what string) error {
	if max := p.Removals(); max >= 0 && n > max {
		return Refusal("this run would "+what+", more than --max-removals %d; nothing was done", n, max)
	}
	return nil
}

// CheckDomain refuses an email outside AllowDomains.
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
	return Refusal("%s is outside the allowed domains (%s)", email, strings.Join(p.AllowDomains, ", "))
}

// Stricter is the stricter of p and o: the smaller removal bound, and the
// domains both allow.
func (p Policy) Stricter(o Policy) Policy {
	out := p
	if o.MaxRemovals > 0 && (out.MaxRemovals == 0 || o.MaxRemovals < out.MaxRemovals) {
		out.MaxRemovals = o.MaxRemovals
	}
	switch {
	case len(o.AllowDomains) == 0:
	case len(out.AllowDomains) == 0:
		out.AllowDomains = o.AllowDomains
	default:
		var both []string
		for _, d := range out.AllowDomains {
			for _, e := range o.AllowDomains {
				if strings.EqualFold(strings.TrimPrefix(d, "@"), strings.TrimPrefix(e, "@")) {
					both = append(both, d)
				}
			}
		}
		if len(both) == 0 {
			both = []string{"(none: the plan's and the flag's domains do not meet)"}
		}
		out.AllowDomains = both
	}
	return out
}

// ValidateTargets normalizes and checks a list of emails given by an
// operator, before any browser starts: each must be a valid address, and
// duplicates are dropped. Bad input wraps ErrUsage. The allowed domains are
// enforced by the flows, which record each refusal.
func ValidateTargets(emails []string) ([]string, error) {
	if len(emails) == 0 {
		return nil, fmt.Errorf("%w: no email given (use --email or --from-file)", ErrUsage)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(emails))
	for _, e := range emails {
		n, err := roster.ParseEmail(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}
