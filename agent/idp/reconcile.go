package idp

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// Finding is what reconciliation says of one Clay member or invitation.
type Finding string

// Findings for members.
const (
	// FindingActive: a source says the address is active.
	FindingActive Finding = "active"
	// FindingInactiveInIdP: a source knows the address and none says it
	// is active.
	FindingInactiveInIdP Finding = "inactive-in-idp"
	// FindingNotInIdP: no source knows the address, and it is at a
	// company domain.
	FindingNotInIdP Finding = "not-in-idp"
	// FindingExternal: no source knows the address, and it is not at a
	// company domain.
	FindingExternal Finding = "external"
	// FindingUnreadable: the Team page showed the row but its address
	// could not be read, so it could not be checked.
	FindingUnreadable Finding = "unreadable"
)

// Findings for pending invitations: the members' words with an
// "invitation-" prefix.
const (
	FindingInvitationActive        Finding = "invitation-active"
	FindingInvitationInactiveInIdP Finding = "invitation-inactive-in-idp"
	FindingInvitationNotInIdP      Finding = "invitation-not-in-idp"
	FindingInvitationExternal      Finding = "invitation-external"
	FindingInvitationUnreadable    Finding = "invitation-unreadable"
)

// Findings lists every finding, members' first.
var Findings = []Finding{
	FindingActive, FindingInactiveInIdP, FindingNotInIdP, FindingExternal, FindingUnreadable,
	FindingInvitationActive, FindingInvitationInactiveInIdP, FindingInvitationNotInIdP, FindingInvitationExternal, FindingInvitationUnreadable,
}

// invitationPrefix starts every invitation finding.
const invitationPrefix = "invitation-"

// Kind is the kind of row a finding is about.
type Kind string

// The kinds of rows, in report order.
const (
	KindMember     Kind = "member"
	KindInvitation Kind = "invitation"
)

// forKind returns f as it applies to a row of kind k.
func forKind(f Finding, k Kind) Finding {
	if k == KindInvitation {
		return Finding(invitationPrefix + string(f))
	}
	return f
}

// Row is one finding about one Clay member or invitation.
type Row struct {
	// Email is the address as Clay shows it; "" for an unreadable row.
	Email string `json:"email"`
	// Name is the member's name as Clay shows it; for an invitation, the
	// name the matching account has in the source; for an unreadable
	// row, the row's raw text.
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Role is the Clay role of the member or invitation.
	Role    roster.Role `json:"role"`
	Finding Finding     `json:"finding"`
	// IdPStatus is the raw status of the matching account; "" when no
	// source knows the address.
	IdPStatus string `json:"idp_status"`
	// Source is the display name of the matching account's source.
	Source string `json:"source"`
}

// Report is the reconciliation of one roster against the sources.
type Report struct {
	// Findings has one row per member, per invitation and per unreadable
	// row, sorted by kind (members first), then by normalized address,
	// then by name.
	Findings []Row `json:"findings"`
	// Summary counts the rows of each finding; findings without rows are
	// left out.
	Summary map[Finding]int `json:"summary"`
}

// Count returns the number of rows with finding f.
func (r *Report) Count(f Finding) int { return r.Summary[f] }

// Reconcile compares every member and pending invitation of r with the
// index and returns one row for each, plus one for each unreadable row.
//
// An address is at a company domain when its domain, after the "@" and
// ignoring ASCII case, equals one of companyDomains whole: a subdomain is
// another domain, and so is "acme.test.co" to "acme.test". When
// companyDomains is empty, the domains of the indexed people who are not
// guests are taken (Index.Domains); give them explicitly when a directory
// lists people of other organisations other than as Entra guests, or
// their domains count as the company's. Either way, the From domain of a
// DomainAlias whose To is a company domain counts too. Errors wrap
// ErrBadOption.
func Reconcile(r *roster.Roster, ix *Index, companyDomains []string) (*Report, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no roster", ErrBadOption)
	}
	if ix == nil {
		return nil, fmt.Errorf("%w: no index", ErrBadOption)
	}
	given := make([]string, 0, len(companyDomains))
	for _, d := range companyDomains {
		nd, err := ParseDomain(d)
		if err != nil {
			return nil, fmt.Errorf("company domain: %w", err)
		}
		given = append(given, nd)
	}
	company := ix.companyDomains(given)

	rows := make([]Row, 0, len(r.Members)+len(r.Invitations)+len(r.Unreadable))
	check := func(email, name string, role roster.Role, kind Kind) Row {
		row := Row{Email: email, Name: name, Kind: kind, Role: role}
		m, ok := ix.Lookup(email)
		switch {
		case ok && m.Active:
			row.Finding = FindingActive
		case ok:
			row.Finding = FindingInactiveInIdP
		case company[domainOf(roster.NormalizeEmail(email))]:
			row.Finding = FindingNotInIdP
		default:
			row.Finding = FindingExternal
		}
		if ok {
			row.IdPStatus, row.Source = m.Status, m.Source
			if row.Name == "" {
				row.Name = m.Name
			}
		}
		row.Finding = forKind(row.Finding, kind)
		return row
	}
	for _, m := range r.Members {
		rows = append(rows, check(m.Email, m.Name, m.Role, KindMember))
	}
	for _, inv := range r.Invitations {
		rows = append(rows, check(inv.Email, "", inv.Role, KindInvitation))
	}
	for _, u := range r.Unreadable {
		kind := KindMember
		if Kind(u.Kind) == KindInvitation {
			kind = KindInvitation
		}
		rows = append(rows, Row{Name: u.Text, Kind: kind, Finding: forKind(FindingUnreadable, kind)})
	}
	sortRows(rows)

	rep := &Report{Findings: rows, Summary: make(map[Finding]int)}
	for _, row := range rows {
		rep.Summary[row.Finding]++
	}
	return rep, nil
}

// sortRows sorts rows by kind (members first), then by normalized
// address, then by name, keeping the roster's order among equals.
func sortRows(rows []Row) {
	type keyed struct {
		kind int
		addr string
		row  Row
	}
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		kind := 0
		if r.Kind == KindInvitation {
			kind = 1
		}
		ks[i] = keyed{kind: kind, addr: roster.NormalizeEmail(r.Email), row: r}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), strings.Compare(a.addr, b.addr), strings.Compare(a.row.Name, b.row.Name))
	})
	for i, k := range ks {
		rows[i] = k.row
	}
}
