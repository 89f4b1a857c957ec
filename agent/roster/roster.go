// Package roster holds the typed view of a Clay workspace's Team page: its
// members, its pending invitations, and the rules for comparing emails and
// role names. It knows nothing about browsers or markup.
package roster

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is a workspace role as Clay names it.
type Role string

// The roles Clay documents. Viewer exists on Enterprise plans only.
const (
	Admin    Role = "Admin"
	Editor   Role = "Editor"
	Viewer   Role = "Viewer"
	SalesRep Role = "Sales rep"
)

// Roles lists the documented roles in the order the page shows them.
var Roles = []Role{Admin, Editor, Viewer, SalesRep}

// ErrUnknownRole is returned by ParseRole for a name that is not a role.
var ErrUnknownRole = errors.New("unknown role")

// ErrInvalidEmail is returned by ParseEmail for an address that is not one.
var ErrInvalidEmail = errors.New("invalid email address")

// ParseRole maps a role name to its canonical form. Matching ignores case
// and surrounding space; "User" and "Member" are accepted for Editor, and
// "Sales rep" may also be written "sales-rep" or "salesrep".
func ParseRole(s string) (Role, error) {
	k := strings.ToLower(strings.Join(strings.Fields(s), " "))
	switch k {
	case "admin", "administrator":
		return Admin, nil
	case "editor", "user", "member":
		return Editor, nil
	case "viewer":
		return Viewer, nil
	case "sales rep", "sales-rep", "salesrep", "sales_rep":
		return SalesRep, nil
	}
	return "", fmt.Errorf("%w %q (want Admin, Editor, Viewer or Sales rep)", ErrUnknownRole, s)
}

// CanonicalRole returns the canonical role for a name shown on the page, or
// the trimmed name itself when it is not one Clay documents.
func CanonicalRole(s string) Role {
	if r, err := ParseRole(s); err == nil {
		return r
	}
	return Role(strings.TrimSpace(s))
}

// NormalizeEmail returns the form used to compare addresses: trimmed of
// space, with ASCII letters lower-cased. Clay treats addresses
// case-insensitively. Only ASCII is folded: full Unicode case folding would
// make look-alikes equal (the Kelvin sign "\u212A" lower-cases to "k"), and
// a destructive command must never match a different account.
func NormalizeEmail(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, strings.TrimSpace(s))
}

// SameEmail reports whether a and b name the same address: whole-string
// equality after NormalizeEmail, never a substring match.
func SameEmail(a, b string) bool {
	return NormalizeEmail(a) == NormalizeEmail(b)
}

// ParseEmail validates an address given by an operator and returns it
// normalized. It accepts a bare addr-spec only: no display name, no angle
// brackets, exactly one "@", and a domain with a dot. A rejection wraps
// ErrInvalidEmail and says what is wrong: a display name or angle brackets
// around the address (naming the bare address to give instead), white
// space, a non-ASCII or a control character (each with its position), or
// a malformed local part or domain. The input and any character it names
// are quoted with Go escapes, so that no control character reaches a
// terminal as it is.
func ParseEmail(s string) (string, error) {
	e := NormalizeEmail(s)
	if e == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	}
	if reason := emailProblem(strings.TrimSpace(s)); reason != "" {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidEmail, s, reason)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		return "", fmt.Errorf("%w: %q: not a bare address of the form name@example.com", ErrInvalidEmail, s)
	}
	return e, nil
}

// emailProblem returns what makes the trimmed address s unacceptable, or
// "" when it passes every check but the final parse.
func emailProblem(s string) string {
	if bare, named := bareAddress(s); bare != "" {
		what := "angle brackets around the address"
		if named {
			what = "a display name around the address"
		}
		return fmt.Sprintf("%s; give the bare address %q", what, bare)
	}
	pos := 0
	for i, r := range s {
		pos++
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			return fmt.Sprintf("invalid UTF-8 at position %d", pos)
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
			if strings.ContainsAny(s, ",;") {
				return "a list of addresses; give one address at a time"
			}
			return fmt.Sprintf("white space (%s) at position %d", strconv.QuoteRuneToASCII(r), pos)
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("control character %s at position %d", strconv.QuoteRuneToASCII(r), pos)
		case r > 0x7e:
			return fmt.Sprintf("non-ASCII character %s at position %d; only ASCII addresses are supported", strconv.QuoteRuneToASCII(r), pos)
		}
	}
	if i := strings.IndexAny(s, `<>,;"()[]\`); i >= 0 {
		return fmt.Sprintf("%q at position %d; give a bare address such as name@example.com", s[i], i+1)
	}
	local, domain, found := strings.Cut(s, "@")
	switch {
	case !found:
		return `no "@"`
	case strings.Contains(domain, "@"):
		return `more than one "@"`
	case local == "":
		return `nothing before the "@"`
	case !strings.Contains(domain, "."):
		return fmt.Sprintf("the domain %q has no dot", domain)
	case strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return fmt.Sprintf("the domain %q has an empty label", domain)
	}
	return ""
}

// bareAddress returns the address inside s when s is an address with a
// display name ("John Smith <john@acme.test>", named true) or in angle
// brackets alone ("<john@acme.test>"), and that address is itself
// acceptable. Otherwise it returns "".
func bareAddress(s string) (bare string, named bool) {
	if !strings.ContainsAny(s, "<>") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address == s || emailProblem(a.Address) != "" {
		return "", false
	}
	return a.Address, a.Name != ""
}

// Member is one row of the Team page's member list.
type Member struct {
	// Name as shown, without the "(you)" marker.
	Name string `json:"name"`
	// Email exactly as shown.
	Email string `json:"email"`
	Role  Role   `json:"role"`
	// You is true on the signed-in user's own row.
	You bool `json:"you"`
}

// Invitation is one pending invitation.
type Invitation struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// Unreadable is a row the page shows with a role or remove control whose
// email could not be read. It holds a seat (or a pending invitation) all
// the same, so it is kept with its raw text rather than dropped.
type Unreadable struct {
	// Kind is "member" or "invitation", as far as the page tells.
	Kind string `json:"kind"`
	// Text is the row's visible text as the page shows it.
	Text string `json:"text"`
}

// CouldBe reports whether the row could be the row of email: its text
// shows that address's local part, or shows no address at all. A target
// that such a row could be is not proven absent.
func (u Unreadable) CouldBe(email string) bool {
	local, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	text := strings.ToLower(u.Text)
	return !strings.Contains(text, "@") || strings.Contains(text, local)
}

// Roster is everything the Team page lists at one moment.
type Roster struct {
	Workspace   string       `json:"workspace"`
	CapturedAt  time.Time    `json:"captured_at"`
	Members     []Member     `json:"members"`
	Invitations []Invitation `json:"invitations"`
	// Unreadable lists the rows whose email could not be read; it is
	// absent when there are none.
	Unreadable []Unreadable `json:"unreadable,omitempty"`
}

// FindMembers returns the members whose email equals email (see SameEmail).
func (r *Roster) FindMembers(email string) []Member {
	var out []Member
	for _, m := range r.Members {
		if SameEmail(m.Email, email) {
			out = append(out, m)
		}
	}
	return out
}

// UnreadableFor returns the unreadable rows of kind ("member" or
// "invitation") that could be the row of email (see Unreadable.CouldBe).
func (r *Roster) UnreadableFor(kind, email string) []Unreadable {
	var out []Unreadable
	for _, u := range r.Unreadable {
		if u.Kind == kind && u.CouldBe(email) {
			out = append(out, u)
		}
	}
	return out
}

// FindInvitations returns the pending invitations for email.
func (r *Roster) FindInvitations(email string) []Invitation {
	var out []Invitation
	for _, i := range r.Invitations {
		if SameEmail(i.Email, email) {
			out = append(out, i)
		}
	}
	return out
}

// Admins counts the members whose role is Admin.
func (r *Roster) Admins() int {
	n := 0
	for _, m := range r.Members {
		if m.Role == Admin {
			n++
		}
	}
	return n
}

// Self returns the signed-in user's row, if the page marked one.
func (r *Roster) Self() (Member, bool) {
	for _, m := range r.Members {
		if m.You {
			return m, true
		}
	}
	return Member{}, false
}
