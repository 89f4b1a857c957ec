package idp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// OktaStatus is an Okta user's lifecycle status, as the Users API names
// it.
type OktaStatus string

// Okta's user statuses.
const (
	OktaStaged          OktaStatus = "STAGED"
	OktaProvisioned     OktaStatus = "PROVISIONED"
	OktaActive          OktaStatus = "ACTIVE"
	OktaRecovery        OktaStatus = "RECOVERY"
	OktaPasswordExpired OktaStatus = "PASSWORD_EXPIRED"
	OktaLockedOut       OktaStatus = "LOCKED_OUT"
	OktaSuspended       OktaStatus = "SUSPENDED"
	OktaDeprovisioned   OktaStatus = "DEPROVISIONED"
)

// oktaActive tells, for each status, whether it counts as active.
//
// Active: ACTIVE; RECOVERY, PASSWORD_EXPIRED and LOCKED_OUT are accounts
// of people who are still employed and keep their access once they reset
// a password or are unlocked: a lock-out is a sign-in problem, not a
// departure.
//
// Not active: STAGED and PROVISIONED accounts were created but never
// activated (the person cannot sign in yet); SUSPENDED accounts are
// blocked by an administrator; DEPROVISIONED accounts are deactivated,
// which is how Okta offboards a person.
var oktaActive = map[OktaStatus]bool{
	OktaActive:          true,
	OktaRecovery:        true,
	OktaPasswordExpired: true,
	OktaLockedOut:       true,
	OktaStaged:          false,
	OktaProvisioned:     false,
	OktaSuspended:       false,
	OktaDeprovisioned:   false,
}

// Active reports whether the status counts as active.
func (s OktaStatus) Active() bool { return oktaActive[s] }

// oktaLabels maps the admin console's labels, where they differ from the
// API's names, to statuses.
var oktaLabels = map[string]OktaStatus{
	"PASSWORD_RESET":      OktaRecovery,
	"PENDING_USER_ACTION": OktaProvisioned,
	"DEACTIVATED":         OktaDeprovisioned,
}

// ParseOktaStatus maps a status as the API ("LOCKED_OUT") or the admin
// console ("Locked out", "Deactivated", "Pending user action", "Password
// reset") writes it to an OktaStatus, ignoring case. Any other value is an
// error: an unknown status is never guessed at.
func ParseOktaStatus(s string) (OktaStatus, error) {
	k := strings.ToUpper(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '_' || r == '-' || r == '\t'
	}), "_"))
	if st := OktaStatus(k); k != "" {
		if _, ok := oktaActive[st]; ok {
			return st, nil
		}
		if st, ok := oktaLabels[k]; ok {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown Okta status %q (known: STAGED, PROVISIONED, ACTIVE, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED)", s)
}

// oktaUser is a user as Okta's GET /api/v1/users returns it.
type oktaUser struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login       string `json:"login"`
		Email       string `json:"email"`
		SecondEmail string `json:"secondEmail"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DisplayName string `json:"displayName"`
	} `json:"profile"`
}

// oktaRecord makes the record of one Okta user: its primary address is
// email, its aliases login (when it is an address) and secondEmail.
func oktaRecord(status, login, email, second, name, where string) (record, error) {
	st, err := ParseOktaStatus(status)
	if err != nil {
		return record{}, fmt.Errorf("%s: %w", where, err)
	}
	return record{
		addresses: []string{email, login, second},
		name:      name,
		status:    status,
		active:    st.Active(),
		where:     where,
	}, nil
}

func oktaName(first, last, display string) string {
	if display != "" {
		return display
	}
	return strings.TrimSpace(first + " " + last)
}

// addOktaUsers adds Okta users to b; offset is the number of users before
// them, for messages.
func addOktaUsers(b *builder, users []oktaUser, offset int) error {
	for i, u := range users {
		where := fmt.Sprintf("user %d", offset+i+1)
		if u.ID != "" {
			where = "user " + u.ID
		}
		p := u.Profile
		r, err := oktaRecord(u.Status, p.Login, p.Email, p.SecondEmail, oktaName(p.FirstName, p.LastName, p.DisplayName), where)
		if err != nil {
			return err
		}
		if err := b.add(r); err != nil {
			return err
		}
	}
	return nil
}

// parseOktaJSON reads the JSON of Okta's GET /api/v1/users.
func parseOktaJSON(b *builder, data []byte) error {
	var users []oktaUser
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte(utf8BOM)), &users); err != nil {
		return fmt.Errorf("not Okta users JSON: %w", err)
	}
	return addOktaUsers(b, users, 0)
}

// Header keys of an Okta CSV's columns, most specific first.
var (
	oktaLoginKeys  = []string{"login", "profilelogin", "username"}
	oktaEmailKeys  = []string{"email", "profileemail", "primaryemail"}
	oktaSecondKeys = []string{"secondemail", "profilesecondemail", "secondaryemail"}
)

// parseOktaCSV reads a CSV of Okta users: a status column, and a login or
// email column; secondEmail, firstName, lastName and displayName are used
// when present.
func parseOktaCSV(b *builder, t *table) error {
	loginCol := t.col(oktaLoginKeys...)
	emailCol := t.col(oktaEmailKeys...)
	if loginCol < 0 && emailCol < 0 {
		return fmt.Errorf("no email column: want login or email, found %s", t.columnsFound())
	}
	statusCol := t.col("status")
	if statusCol < 0 {
		return fmt.Errorf("no status column, found %s", t.columnsFound())
	}
	secondCol := t.col(oktaSecondKeys...)
	firstCol := t.col("firstname", "profilefirstname")
	lastCol := t.col("lastname", "profilelastname")
	displayCol := t.col("displayname", "profiledisplayname")
	for i, row := range t.rows {
		where := fmt.Sprintf("line %d", t.lines[i])
		name := oktaName(cell(row, firstCol), cell(row, lastCol), cell(row, displayCol))
		r, err := oktaRecord(cell(row, statusCol), cell(row, loginCol), cell(row, emailCol), cell(row, secondCol), name, where)
		if err != nil {
			return fmt.Errorf("%w; a CSV from another system is read as csv:PATH with a column mapping", err)
		}
		if err := b.add(r); err != nil {
			return err
		}
	}
	return nil
}
