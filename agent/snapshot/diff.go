package snapshot

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

// RoleChange is a member whose role differs between two snapshots.
type RoleChange struct {
	Email string      `json:"email"`
	From  roster.Role `json:"from"`
	To    roster.Role `json:"to"`
}

// Rename is a member whose display name differs between two snapshots.
// A rename is not an addition or a removal.
type Rename struct {
	Email string `json:"email"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Changes is the difference between two rosters. Members and invitations
// are matched by email as roster.SameEmail does, so a change in the case of
// an address is no change at all. Every list is sorted by normalized email
// and encodes as a JSON array, never null.
type Changes struct {
	Added          []roster.Member     `json:"added"`
	Removed        []roster.Member     `json:"removed"`
	RoleChanged    []RoleChange        `json:"role_changed"`
	Renamed        []Rename            `json:"renamed"`
	Invited        []roster.Invitation `json:"invited"`
	InvitationGone []roster.Invitation `json:"invitation_gone"`
	// Unreadable lists the rows of the newer roster that have controls but
	// no readable email. They are reported on every diff that has them: a
	// seat the agent cannot name is a finding until someone looks at it.
	Unreadable []roster.Unreadable `json:"unreadable"`
}

// Diff compares prev with cur. A nil prev is an empty roster: every member
// is added and every invitation is new. A pending invitation whose role
// changed is reported as gone (old role) and invited (new role), which is
// how Clay handles it: the old invitation is revoked and a new one sent.
func Diff(prev, cur *roster.Roster) Changes {
	if prev == nil {
		prev = &roster.Roster{}
	}
	if cur == nil {
		cur = &roster.Roster{}
	}
	c := Changes{
		Added:          []roster.Member{},
		Removed:        []roster.Member{},
		RoleChanged:    []RoleChange{},
		Renamed:        []Rename{},
		Invited:        []roster.Invitation{},
		InvitationGone: []roster.Invitation{},
		Unreadable:     slices.Clone(cur.Unreadable),
	}

	before := indexMembers(prev.Members)
	after := indexMembers(cur.Members)
	for key, m := range after {
		old, ok := before[key]
		if !ok {
			c.Added = append(c.Added, m)
			continue
		}
		if roster.CanonicalRole(string(old.Role)) != roster.CanonicalRole(string(m.Role)) {
			c.RoleChanged = append(c.RoleChanged, RoleChange{Email: m.Email, From: old.Role, To: m.Role})
		}
		if !sameName(old.Name, m.Name) {
			c.Renamed = append(c.Renamed, Rename{Email: m.Email, From: old.Name, To: m.Name})
		}
	}
	for key, m := range before {
		if _, ok := after[key]; !ok {
			c.Removed = append(c.Removed, m)
		}
	}

	invBefore := indexInvitations(prev.Invitations)
	invAfter := indexInvitations(cur.Invitations)
	for key, inv := range invAfter {
		old, ok := invBefore[key]
		if !ok || roster.CanonicalRole(string(old.Role)) != roster.CanonicalRole(string(inv.Role)) {
			c.Invited = append(c.Invited, inv)
		}
	}
	for key, inv := range invBefore {
		now, ok := invAfter[key]
		if !ok || roster.CanonicalRole(string(now.Role)) != roster.CanonicalRole(string(inv.Role)) {
			c.InvitationGone = append(c.InvitationGone, inv)
		}
	}

	sortByEmail(c.Added, func(m roster.Member) string { return m.Email })
	sortByEmail(c.Removed, func(m roster.Member) string { return m.Email })
	sortByEmail(c.RoleChanged, func(r RoleChange) string { return r.Email })
	sortByEmail(c.Renamed, func(r Rename) string { return r.Email })
	sortByEmail(c.Invited, func(i roster.Invitation) string { return i.Email })
	sortByEmail(c.InvitationGone, func(i roster.Invitation) string { return i.Email })
	return c
}

// sameName compares display names, ignoring differences in white space.
func sameName(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// indexMembers keys members by normalized email. Should the page list an
// address twice, the first row wins.
func indexMembers(ms []roster.Member) map[string]roster.Member {
	idx := make(map[string]roster.Member, len(ms))
	for _, m := range ms {
		k := roster.NormalizeEmail(m.Email)
		if _, dup := idx[k]; !dup {
			idx[k] = m
		}
	}
	return idx
}

func indexInvitations(is []roster.Invitation) map[string]roster.Invitation {
	idx := make(map[string]roster.Invitation, len(is))
	for _, i := range is {
		k := roster.NormalizeEmail(i.Email)
		if _, dup := idx[k]; !dup {
			idx[k] = i
		}
	}
	return idx
}

func sortByEmail[T any](s []T, email func(T) string) {
	slices.SortFunc(s, func(a, b T) int {
		return cmp.Or(
			cmp.Compare(roster.NormalizeEmail(email(a)), roster.NormalizeEmail(email(b))),
			cmp.Compare(email(a), email(b)),
		)
	})
}

// Empty reports whether nothing changed, renames included.
func (c Changes) Empty() bool {
	return c.Count() == 0
}

// Count is the number of reported changes, renames included.
func (c Changes) Count() int {
	return len(c.Added) + len(c.Removed) + len(c.RoleChanged) + len(c.Renamed) +
		len(c.Invited) + len(c.InvitationGone) + len(c.Unreadable)
}

// MarshalJSON encodes every list as an array, even in a zero Changes.
func (c Changes) MarshalJSON() ([]byte, error) {
	type plain Changes
	p := plain(c)
	p.Added = orEmpty(p.Added)
	p.Removed = orEmpty(p.Removed)
	p.RoleChanged = orEmpty(p.RoleChanged)
	p.Renamed = orEmpty(p.Renamed)
	p.Invited = orEmpty(p.Invited)
	p.InvitationGone = orEmpty(p.InvitationGone)
	p.Unreadable = orEmpty(p.Unreadable)
	return json.Marshal(p)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// textListLimit is how many entries of one kind Text names before it
// summarises the rest as "and N more".
const textListLimit = 10

// Text describes the changes in one paragraph, e.g.
//
//	Clay workspace acme: 1 added: ann@example.com (Editor); 1 role changed: bob@example.com Editor → Admin.
//
// With an empty workspace the prefix is "Clay workspace". It names at most
// ten entries of each kind. Emails, roles, names and the workspace are
// escaped by textsafe.Terminal (names quoted by textsafe.Quote), so that
// text from the page can neither act on a terminal nor hide or reorder
// what is shown. It is plain text; Slack needs SlackText.
func (c Changes) Text(workspace string) string {
	var b strings.Builder
	b.WriteString("Clay workspace")
	if workspace != "" {
		b.WriteString(" " + textsafe.Terminal(workspace))
	}
	if c.Empty() {
		b.WriteString(": no changes.")
		return b.String()
	}
	var parts []string
	add := func(n int, label string, item func(i int) string) {
		if n == 0 {
			return
		}
		items := make([]string, 0, min(n, textListLimit)+1)
		for i := range min(n, textListLimit) {
			items = append(items, item(i))
		}
		if n > textListLimit {
			items = append(items, fmt.Sprintf("and %d more", n-textListLimit))
		}
		parts = append(parts, fmt.Sprintf("%d %s: %s", n, label, strings.Join(items, ", ")))
	}
	esc := textsafe.Terminal
	role := func(r roster.Role) string { return esc(string(r)) }
	add(len(c.Added), "added", func(i int) string {
		return fmt.Sprintf("%s (%s)", esc(c.Added[i].Email), role(c.Added[i].Role))
	})
	add(len(c.Removed), "removed", func(i int) string {
		return fmt.Sprintf("%s (%s)", esc(c.Removed[i].Email), role(c.Removed[i].Role))
	})
	add(len(c.RoleChanged), "role changed", func(i int) string {
		r := c.RoleChanged[i]
		return fmt.Sprintf("%s %s → %s", esc(r.Email), role(r.From), role(r.To))
	})
	add(len(c.Renamed), "renamed", func(i int) string {
		r := c.Renamed[i]
		return fmt.Sprintf("%s %s → %s", esc(r.Email), textsafe.Quote(r.From), textsafe.Quote(r.To))
	})
	add(len(c.Invited), "invited", func(i int) string {
		return fmt.Sprintf("%s (%s)", esc(c.Invited[i].Email), role(c.Invited[i].Role))
	})
	add(len(c.InvitationGone), "invitation gone", func(i int) string {
		return fmt.Sprintf("%s (%s)", esc(c.InvitationGone[i].Email), role(c.InvitationGone[i].Role))
	})
	add(len(c.Unreadable), "with controls but no readable email", func(i int) string {
		return fmt.Sprintf("%s row %s", esc(c.Unreadable[i].Kind), textsafe.Quote(strings.Join(strings.Fields(c.Unreadable[i].Text), " ")))
	})
	b.WriteString(": ")
	b.WriteString(strings.Join(parts, "; "))
	b.WriteString(".")
	return b.String()
}

// SlackText is Text escaped for Slack's message format, where &, < and >
// are control characters.
func (c Changes) SlackText(workspace string) string {
	return SlackEscape(c.Text(workspace))
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// SlackEscape escapes &, < and >, which Slack's message format reads as
// markup, for the text of any webhook message.
func SlackEscape(s string) string { return slackEscaper.Replace(s) }
