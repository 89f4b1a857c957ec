package idp

import (
	"fmt"
	"strings"
)

// GoogleStatus is a Google Workspace user's status as the admin console's
// user download writes it in "Status [READ ONLY]".
type GoogleStatus string

// The statuses of the Google Workspace user download. Only Active counts
// as active: a suspended user cannot sign in, and an archived user is a
// former employee whose data is kept.
const (
	GoogleActive    GoogleStatus = "Active"
	GoogleSuspended GoogleStatus = "Suspended"
	GoogleArchived  GoogleStatus = "Archived"
)

// parseGoogleStatus maps a status cell to a GoogleStatus, ignoring case.
// Any other value is an error.
func parseGoogleStatus(s string) (GoogleStatus, error) {
	for _, st := range []GoogleStatus{GoogleActive, GoogleSuspended, GoogleArchived} {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown Google Workspace status %q (known: Active, Suspended, Archived)", s)
}

// parseGoogleCSV reads the Google Workspace admin console's user
// download: "Email Address [Required]", "Status [READ ONLY]", and the
// name columns. The download lists no aliases ("Work Secondary Email"
// and the like are contact details, not addresses of the account).
func parseGoogleCSV(b *builder, t *table) error {
	emailCol := t.col("emailaddress")
	if emailCol < 0 {
		return fmt.Errorf("no email column: want \"Email Address [Required]\", found %s", t.columnsFound())
	}
	statusCol := t.col("status")
	if statusCol < 0 {
		return fmt.Errorf("no \"Status [READ ONLY]\" column, found %s", t.columnsFound())
	}
	firstCol := t.col("firstname")
	lastCol := t.col("lastname")
	for i, row := range t.rows {
		where := fmt.Sprintf("line %d", t.lines[i])
		raw := cell(row, statusCol)
		st, err := parseGoogleStatus(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		r := record{
			addresses: []string{cell(row, emailCol)},
			name:      strings.TrimSpace(cell(row, firstCol) + " " + cell(row, lastCol)),
			status:    raw,
			active:    st == GoogleActive,
			where:     where,
		}
		if err := b.add(r); err != nil {
			return err
		}
	}
	return nil
}
