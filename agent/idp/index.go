package idp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// DomainAlias says that an address at From may be found at To: a Clay
// address local@From is looked up as local@To as well (not the other way
// round). Use it when a company changed its mail domain and Clay still
// holds addresses at the old one.
type DomainAlias struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ParseDomain normalizes a domain given by an operator: surrounding space
// and a leading "@" removed, ASCII letters lower-cased. It must be an
// ASCII host name with a dot and no empty label. Errors wrap
// ErrBadOption.
func ParseDomain(s string) (string, error) {
	d := roster.NormalizeEmail(strings.TrimPrefix(strings.TrimSpace(s), "@"))
	if d == "" {
		return "", fmt.Errorf("%w: empty domain", ErrBadOption)
	}
	if !strings.Contains(d, ".") {
		return "", fmt.Errorf("%w: domain %q has no dot", ErrBadOption, s)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return "", fmt.Errorf("%w: domain %q has an empty label", ErrBadOption, s)
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("%w: domain %q: character %q is not allowed", ErrBadOption, s, r)
			}
		}
	}
	return d, nil
}

// ParseDomainAlias reads "old.com=new.com". Errors wrap ErrBadOption.
func ParseDomainAlias(s string) (DomainAlias, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok {
		return DomainAlias{}, fmt.Errorf("%w: domain alias %q: want OLD=NEW, such as old.com=new.com", ErrBadOption, s)
	}
	f, err := ParseDomain(from)
	if err != nil {
		return DomainAlias{}, fmt.Errorf("domain alias %q: %w", s, err)
	}
	t, err := ParseDomain(to)
	if err != nil {
		return DomainAlias{}, fmt.Errorf("domain alias %q: %w", s, err)
	}
	if f == t {
		return DomainAlias{}, fmt.Errorf("%w: domain alias %q maps a domain to itself", ErrBadOption, s)
	}
	return DomainAlias{From: f, To: t}, nil
}

// Match is what the sources say about one address.
type Match struct {
	// Email is the address that matched, normalized: the looked-up
	// address, or its form at another domain when ViaDomain is true.
	Email string `json:"email"`
	// Primary is the primary address of the matched account.
	Primary string `json:"primary"`
	// Name is the account's display name in the source.
	Name string `json:"name,omitempty"`
	// Active is true when any source says any account with the address
	// is active.
	Active bool `json:"active"`
	// Status is the raw status of the winning account.
	Status string `json:"status"`
	// Source is the display name of the winning account's source.
	Source string `json:"source"`
	// ViaAlias is true when the address is an alias of the winning
	// account, not its primary address.
	ViaAlias bool `json:"via_alias,omitempty"`
	// ViaDomain is true when the address matched only through a
	// DomainAlias.
	ViaDomain bool `json:"via_domain,omitempty"`
}

// entry is the best account known for one address.
type entry struct {
	person  *Person
	source  string
	primary bool
}

// better reports whether e should win over old: an active account wins
// over an inactive one, then an account whose primary address it is
// over one that has it as an alias; otherwise the first seen stays.
func (e entry) better(old entry) bool {
	if e.person.Active != old.person.Active {
		return e.person.Active
	}
	return e.primary && !old.primary
}

// Index finds the accounts of every loaded directory by address. It is
// safe for concurrent lookups once built.
type Index struct {
	byAddr  map[string]entry
	aliases map[string][]string // domain → domains its addresses are also looked up at
	domains []string
}

// NewIndex indexes the people of dirs, in order, by their primary
// addresses and aliases, and takes note of the domain aliases. Nil
// directories are skipped.
func NewIndex(dirs []*Directory, aliases []DomainAlias) *Index {
	n := 0
	for _, d := range dirs {
		if d != nil {
			n += len(d.People)
		}
	}
	ix := &Index{byAddr: make(map[string]entry, n+n/4), aliases: make(map[string][]string)}
	company := make(map[string]bool)
	for _, d := range dirs {
		if d == nil {
			continue
		}
		for i := range d.People {
			p := &d.People[i]
			ix.put(p.Email, entry{person: p, source: d.Source, primary: true})
			for _, a := range p.Aliases {
				ix.put(a, entry{person: p, source: d.Source})
			}
			if !p.Guest {
				company[domainOf(p.Email)] = true
			}
		}
	}
	for _, a := range aliases {
		from, to := roster.NormalizeEmail(a.From), roster.NormalizeEmail(a.To)
		if from != "" && to != "" && from != to && !slices.Contains(ix.aliases[from], to) {
			ix.aliases[from] = append(ix.aliases[from], to)
		}
	}
	delete(company, "")
	for d := range company {
		ix.domains = append(ix.domains, d)
	}
	slices.Sort(ix.domains)
	return ix
}

func (ix *Index) put(addr string, e entry) {
	addr = roster.NormalizeEmail(addr)
	if old, ok := ix.byAddr[addr]; !ok || e.better(old) {
		ix.byAddr[addr] = e
	}
}

// Domains returns the domains of the primary addresses of the indexed
// people who are not guests, sorted. Reconcile takes them for the company
// domains when it is given none.
func (ix *Index) Domains() []string {
	return slices.Clone(ix.domains)
}

// Lookup returns what the sources say about email, compared whole and
// ignoring ASCII case (roster.SameEmail), through the sources' aliases,
// and through the domain aliases (local@From is looked up as local@To as
// well). Among the accounts found, an active one wins, then one found
// without a domain alias, then one whose primary address matched. It
// reports false when no source knows the address.
func (ix *Index) Lookup(email string) (Match, bool) {
	addr := roster.NormalizeEmail(email)
	best, ok := ix.byAddr[addr]
	via := false
	if local, domain, found := strings.Cut(addr, "@"); found {
		for _, to := range ix.aliases[domain] {
			e, hit := ix.byAddr[local+"@"+to]
			if hit && (!ok || e.person.Active && !best.person.Active) {
				best, ok, via, addr = e, true, true, local+"@"+to
			}
		}
	}
	if !ok {
		return Match{}, false
	}
	return Match{
		Email:     addr,
		Primary:   best.person.Email,
		Name:      best.person.Name,
		Active:    best.person.Active,
		Status:    best.person.Status,
		Source:    best.source,
		ViaAlias:  !best.primary,
		ViaDomain: via,
	}, true
}

// companyDomains returns the set of company domains: the given ones, or
// the index's own when none is given, plus every DomainAlias From whose
// To is a company domain (an old domain of the company is the company's).
func (ix *Index) companyDomains(given []string) map[string]bool {
	set := make(map[string]bool)
	src := given
	if len(src) == 0 {
		src = ix.domains
	}
	for _, d := range src {
		set[d] = true
	}
	for from, tos := range ix.aliases {
		if slices.ContainsFunc(tos, func(to string) bool { return set[to] }) {
			set[from] = true
		}
	}
	return set
}
