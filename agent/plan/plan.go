// Package plan holds the reviewed path from a reconciliation to a change:
// a plan file that lists the actions (offboard, revoke) a reconciliation
// calls for, with what it was made from; an approval that names who
// approved which plan; and the checks that apply makes before it acts.
//
// A plan is identified by its digest: the hex SHA-256 of the plan file's
// bytes. An approval is bound to that digest, so a plan edited after its
// approval no longer matches it.
//
// The package knows nothing of browsers: apply reads the page through the
// flows, and hands this package the roster it read.
package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// Version is the version of the plan file format.
const Version = 1

// FileMode is the mode plan and approval files are written with.
const FileMode = 0o600

// ActionKind is what an action does.
type ActionKind string

// The actions a plan may hold.
const (
	// Offboard removes a member (and revokes a pending invitation for the
	// same address), as `agent offboard` does.
	Offboard ActionKind = "offboard"
	// Revoke revokes a pending invitation, as `agent revoke` does.
	Revoke ActionKind = "revoke"
)

// Target kinds, as the roster shows them.
const (
	KindMember     = "member"
	KindInvitation = "invitation"
)

// Action is one change a plan calls for, with the state of its target
// when the plan was made, so that apply can tell a change it did not see.
type Action struct {
	Action ActionKind `json:"action"`
	Email  string     `json:"email"`
	// Reason is the finding that calls for the action, e.g.
	// "inactive-in-idp".
	Reason string `json:"reason"`
	// Kind is "member" or "invitation": what the page showed.
	Kind string `json:"kind"`
	// Role is the role the page showed.
	Role string `json:"role"`
}

// Source is an identity source a plan was made from.
type Source struct {
	Source string `json:"source"`
	Format string `json:"format"`
	// Digest is the source's content digest (hex SHA-256).
	Digest string `json:"digest"`
	People int    `json:"people"`
}

// Limits are the safety limits in force when the plan was made. Apply
// enforces its own limits as well: the stricter of the two wins.
type Limits struct {
	MaxRemovals     int      `json:"max_removals"`
	AllowDomains    []string `json:"allow_domains"`
	OffboardUnknown bool     `json:"offboard_unknown"`
}

// Plan is a plan file.
type Plan struct {
	Version   int       `json:"version"`
	Workspace string    `json:"workspace"`
	CreatedAt time.Time `json:"created_at"`
	// Roster is the digest of the roster the plan was made from (see
	// RosterDigest).
	Roster string `json:"roster_digest"`
	// Others is the digest of the same roster without the plan's targets
	// (see OthersDigest): apply refuses the plan when it no longer
	// matches, since only the plan's own targets may have changed.
	Others  string   `json:"others_digest,omitempty"`
	Sources []Source `json:"sources"`
	Actions []Action `json:"actions"`
	Limits  Limits   `json:"limits"`
}

// ErrInvalid means a file is not a plan this version can read.
var ErrInvalid = errors.New("not a valid plan file")

// Encode returns the plan file's bytes: indented JSON with a final
// newline, lists never null.
func (p *Plan) Encode() ([]byte, error) {
	c := *p
	if c.Sources == nil {
		c.Sources = []Source{}
	}
	if c.Actions == nil {
		c.Actions = []Action{}
	}
	if c.Limits.AllowDomains == nil {
		c.Limits.AllowDomains = []string{}
	}
	c.CreatedAt = c.CreatedAt.UTC()
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("plan: encode: %w", err)
	}
	return append(data, '\n'), nil
}

// Digest returns the hex SHA-256 of data, a plan file's bytes.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Write writes p to path atomically with mode 0600 and returns its digest.
func Write(path string, p *Plan) (string, error) {
	data, err := p.Encode()
	if err != nil {
		return "", err
	}
	if err := fsutil.WriteFileAtomic(path, data, FileMode); err != nil {
		return "", fmt.Errorf("plan: write %s: %w", path, err)
	}
	return Digest(data), nil
}

// Read reads a plan file and returns it with its digest. A file that does
// not parse, of another version, or with an unknown action is an error
// wrapping ErrInvalid.
func Read(path string) (*Plan, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("plan: read: %w", err)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, "", fmt.Errorf("plan: %s: %w: %w", path, ErrInvalid, err)
	}
	if p.Version != Version {
		return nil, "", fmt.Errorf("plan: %s: %w: version %d (this agent reads version %d)", path, ErrInvalid, p.Version, Version)
	}
	if p.Workspace == "" || p.CreatedAt.IsZero() {
		return nil, "", fmt.Errorf("plan: %s: %w: no workspace or no time", path, ErrInvalid)
	}
	for i, a := range p.Actions {
		if a.Action != Offboard && a.Action != Revoke {
			return nil, "", fmt.Errorf("plan: %s: %w: action %d is %q (want offboard or revoke)", path, ErrInvalid, i+1, a.Action)
		}
		if _, err := roster.ParseEmail(a.Email); err != nil {
			return nil, "", fmt.Errorf("plan: %s: %w: action %d: %w", path, ErrInvalid, i+1, err)
		}
	}
	return &p, Digest(data), nil
}

// Targets lists the plan's addresses, each once, in the order of its
// actions.
func (p *Plan) Targets() []string {
	var out []string
	for _, a := range p.Actions {
		if !slices.ContainsFunc(out, func(e string) bool { return roster.SameEmail(e, a.Email) }) {
			out = append(out, a.Email)
		}
	}
	return out
}

// RosterDigest is the digest of what a roster says about seats: every
// member's normalized email and role and every invitation's, sorted. The
// order of the rows on the page and the display names do not count.
func RosterDigest(r *roster.Roster) string {
	return rosterDigest(r, nil)
}

// OthersDigest is RosterDigest of r without the members and invitations
// of the addresses in targets (told apart as roster.SameEmail does). Rows
// that could not be read stay in: any of them may be anyone.
func OthersDigest(r *roster.Roster, targets []string) string {
	return rosterDigest(r, func(email string) bool {
		return slices.ContainsFunc(targets, func(t string) bool { return roster.SameEmail(t, email) })
	})
}

func rosterDigest(r *roster.Roster, skip func(email string) bool) string {
	var lines []string
	for _, m := range r.Members {
		if skip != nil && skip(string(m.Email)) {
			continue
		}
		lines = append(lines, "member\t"+roster.NormalizeEmail(m.Email)+"\t"+string(roster.CanonicalRole(string(m.Role))))
	}
	for _, i := range r.Invitations {
		if skip != nil && skip(string(i.Email)) {
			continue
		}
		lines = append(lines, "invitation\t"+roster.NormalizeEmail(i.Email)+"\t"+string(roster.CanonicalRole(string(i.Role))))
	}
	for _, u := range r.Unreadable {
		lines = append(lines, "unreadable\t"+u.Kind+"\t"+strings.Join(strings.Fields(u.Text), " "))
	}
	slices.Sort(lines)
	return Digest([]byte(strings.Join(lines, "\n")))
}
