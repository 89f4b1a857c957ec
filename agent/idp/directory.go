package idp

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// Format names the shape a directory was read from.
type Format string

// The formats of export files. A source spec may name one to override
// detection ("okta-csv:people.csv").
const (
	// FormatEntraCSV is Microsoft Entra ID's "Download users" CSV.
	FormatEntraCSV Format = "entra-csv"
	// FormatGraphJSON is the JSON of Microsoft Graph's GET /v1.0/users:
	// {"value":[...]} (a bare array of users is accepted as well).
	FormatGraphJSON Format = "graph-json"
	// FormatOktaJSON is the JSON of Okta's GET /api/v1/users: an array of
	// users.
	FormatOktaJSON Format = "okta-json"
	// FormatOktaCSV is a CSV of Okta users with a status column and a
	// login or email column.
	FormatOktaCSV Format = "okta-csv"
	// FormatGoogleCSV is the Google Workspace admin console's user
	// download.
	FormatGoogleCSV Format = "google-csv"
	// FormatCSV is any CSV read through a ColumnMap.
	FormatCSV Format = "csv"
)

// The formats of live directories.
const (
	// FormatOktaAPI is a directory read live from Okta's Users API.
	FormatOktaAPI Format = "okta-api"
	// FormatGraphAPI is a directory read live from Microsoft Graph.
	FormatGraphAPI Format = "graph-api"
)

// FileFormats lists the formats of export files, in the order detection
// tries them and messages name them.
var FileFormats = []Format{FormatEntraCSV, FormatGraphJSON, FormatOktaJSON, FormatOktaCSV, FormatGoogleCSV, FormatCSV}

// ParseFormat maps a format name to its Format. It accepts the file
// formats only: a live directory is named by its source spec.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(FileFormats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%w: unknown format %q (known: %s)", ErrBadOption, s, formatList())
}

func formatList() string {
	names := make([]string, len(FileFormats))
	for i, f := range FileFormats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Person is one account of a directory.
type Person struct {
	// Email is the account's primary address, normalized with
	// roster.NormalizeEmail.
	Email string `json:"email"`
	// Aliases are the other addresses the source gives for the account,
	// normalized, without Email and without repeats.
	Aliases []string `json:"aliases,omitempty"`
	// Name is the display name, when the source has one.
	Name string `json:"name,omitempty"`
	// Status is the account's status as the source writes it (for Entra,
	// "accountEnabled=True" and the like).
	Status string `json:"status"`
	// Active is true when the status counts as active (see the package
	// documentation for each source's rules).
	Active bool `json:"active"`
	// Guest is true for an Entra account of userType Guest: a person from
	// another organisation. Guests' domains are not taken for company
	// domains.
	Guest bool `json:"guest,omitempty"`
}

// Addresses returns Email followed by Aliases.
func (p *Person) Addresses() []string {
	return append([]string{p.Email}, p.Aliases...)
}

// Directory is one source, loaded whole.
type Directory struct {
	// Source is a display name for the source: the file path, or
	// "okta:https://ORG.okta.com", or "entra:TENANT". It never holds a
	// secret.
	Source string `json:"source"`
	// Format is the shape the source was read from.
	Format Format `json:"format"`
	// Digest is the hex SHA-256 of the source's canonical content: for a
	// file its bytes, for a live directory its people sorted by address
	// (see CanonicalDigest).
	Digest string `json:"digest"`
	// People lists the accounts with at least one address, in the
	// source's order (live directories: sorted by Email).
	People []Person `json:"people"`
	// Skipped counts the source's records that had no address at all
	// (an Okta login that is not an address and no email, an empty cell):
	// nothing can match them.
	Skipped int `json:"skipped,omitempty"`
}

// CanonicalDigest returns the hex SHA-256 of people in canonical form:
// one JSON object per person (email, aliases sorted, name, status, active,
// guest), sorted by email, each followed by a newline. The order of the
// input and of each person's aliases does not change it.
func CanonicalDigest(people []Person) string {
	sorted := make([]Person, len(people))
	for i, p := range people {
		p.Aliases = slices.Sorted(slices.Values(p.Aliases))
		sorted[i] = p
	}
	slices.SortFunc(sorted, func(a, b Person) int {
		return cmp.Or(strings.Compare(a.Email, b.Email), strings.Compare(a.Status, b.Status), strings.Compare(a.Name, b.Name))
	})
	h := sha256.New()
	for _, p := range sorted {
		line, _ := json.Marshal(p) // a Person always encodes
		h.Write(line)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileDigest returns the hex SHA-256 of data.
func fileDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// address returns s normalized with roster.NormalizeEmail when it has the
// shape of an address: one "@" with text on both sides, and no space or
// control character. Anything else (a bare login, an empty cell) is not
// an address.
func address(s string) (string, bool) {
	a := roster.NormalizeEmail(s)
	local, domain, ok := strings.Cut(a, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", false
	}
	if strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", false
	}
	return a, true
}

// domainOf returns the part of a normalized address after its "@".
func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

// record is one account as a format reads it, before it joins a
// directory.
type record struct {
	// addresses in priority order: the first address among them becomes
	// the person's Email, the others its aliases.
	addresses []string
	name      string
	status    string
	active    bool
	guest     bool
	// where names the record in messages: "line 7", "user 00u1…".
	where string
}

// builder collects the records of one source into a Directory, merging
// repeated rows for one primary address and refusing conflicting ones.
type builder struct {
	dir   *Directory
	first map[string]int    // primary address → index in dir.People
	where map[string]string // primary address → where it was first seen
}

func newBuilder(source string, format Format) *builder {
	return &builder{
		dir:   &Directory{Source: source, Format: format},
		first: make(map[string]int),
		where: make(map[string]string),
	}
}

// add takes one record. A record without any address is counted in
// Skipped. A record whose primary address is already known is merged
// into the first when both agree on being active (their aliases join),
// and refused when they do not.
func (b *builder) add(r record) error {
	var addrs []string
	for _, s := range r.addresses {
		if a, ok := address(s); ok && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		b.dir.Skipped++
		return nil
	}
	p := Person{
		Email:   addrs[0],
		Aliases: addrs[1:],
		Name:    strings.TrimSpace(r.name),
		Status:  strings.TrimSpace(r.status),
		Active:  r.active,
		Guest:   r.guest,
	}
	if len(p.Aliases) == 0 {
		p.Aliases = nil
	}
	i, seen := b.first[p.Email]
	if !seen {
		b.first[p.Email] = len(b.dir.People)
		b.where[p.Email] = r.where
		b.dir.People = append(b.dir.People, p)
		return nil
	}
	prev := &b.dir.People[i]
	if prev.Active != p.Active {
		return fmt.Errorf("%s is listed twice with conflicting statuses: %q (%s) and %q (%s)",
			p.Email, prev.Status, b.where[p.Email], p.Status, r.where)
	}
	for _, a := range p.Aliases {
		if !slices.Contains(prev.Aliases, a) {
			prev.Aliases = append(prev.Aliases, a)
		}
	}
	if prev.Name == "" {
		prev.Name = p.Name
	}
	return nil
}

// done returns the directory, or an error when it holds nobody.
func (b *builder) done() (*Directory, error) {
	if len(b.dir.People) == 0 {
		if b.dir.Skipped > 0 {
			return nil, fmt.Errorf("no people: none of its %d record(s) has an address", b.dir.Skipped)
		}
		return nil, errors.New("no people")
	}
	return b.dir, nil
}
