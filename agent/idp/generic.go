package idp

import (
	"fmt"
	"slices"
	"strings"
)

// ColumnMap tells how to read any CSV: which columns hold the address,
// the status and, optionally, the name and other addresses, and which
// status words mean active.
type ColumnMap struct {
	// Email names the column of primary addresses. Required.
	Email string
	// Status names the status column. Required.
	Status string
	// Name names the column of display names. Optional.
	Name string
	// Aliases names a column of other addresses of the account, separated
	// by semicolons, commas or spaces. Optional.
	Aliases string
	// Active lists the status values that mean active, compared ignoring
	// case and surrounding space. Every other value, an empty cell
	// included, means not active.
	Active []string
}

// Column mapping keys, as ParseColumnMap reads them.
const (
	colEmail   = "email"
	colStatus  = "status"
	colName    = "name"
	colAliases = "aliases"
)

// ParseColumnMap reads a mapping written "email=COL,status=COL" with
// optional "name=COL" and "aliases=COL" (also "alias=COL"), keys in any
// order and case, and takes active as the status words that mean active.
// Column names are compared ignoring case; they cannot hold "," or "=".
// Errors wrap ErrBadOption.
func ParseColumnMap(mapping string, active []string) (ColumnMap, error) {
	var m ColumnMap
	for part := range strings.SplitSeq(mapping, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return ColumnMap{}, fmt.Errorf("%w: column mapping %q: want KEY=COLUMN, got %q", ErrBadOption, mapping, part)
		}
		var dst *string
		switch k {
		case colEmail:
			dst = &m.Email
		case colStatus:
			dst = &m.Status
		case colName:
			dst = &m.Name
		case colAliases, "alias":
			dst = &m.Aliases
		default:
			return ColumnMap{}, fmt.Errorf("%w: column mapping %q: unknown key %q (known: email, status, name, aliases)", ErrBadOption, mapping, k)
		}
		if *dst != "" {
			return ColumnMap{}, fmt.Errorf("%w: column mapping %q: %s given twice", ErrBadOption, mapping, k)
		}
		*dst = v
	}
	for _, w := range active {
		if w = strings.TrimSpace(w); w != "" {
			m.Active = append(m.Active, w)
		}
	}
	if err := m.validate(); err != nil {
		return ColumnMap{}, err
	}
	return m, nil
}

// validate checks that the map names the required columns and at least
// one active word.
func (m ColumnMap) validate() error {
	switch {
	case m.Email == "":
		return fmt.Errorf("%w: column mapping: email=COLUMN is required", ErrBadOption)
	case m.Status == "":
		return fmt.Errorf("%w: column mapping: status=COLUMN is required", ErrBadOption)
	case !slices.ContainsFunc(m.Active, func(w string) bool { return strings.TrimSpace(w) != "" }):
		return fmt.Errorf("%w: column mapping: no status word means active: give at least one", ErrBadOption)
	}
	return nil
}

// isActive reports whether status is one of the active words.
func (m ColumnMap) isActive(status string) bool {
	return slices.ContainsFunc(m.Active, func(w string) bool {
		return strings.EqualFold(strings.TrimSpace(w), strings.TrimSpace(status))
	})
}

// fits reports whether t has every column m names.
func (m ColumnMap) fits(t *table) bool {
	for _, c := range []string{m.Email, m.Status, m.Name, m.Aliases} {
		if c != "" && t.named(c) < 0 {
			return false
		}
	}
	return true
}

// parseMappedCSV reads any CSV through m.
func parseMappedCSV(b *builder, t *table, m ColumnMap) error {
	if err := m.validate(); err != nil {
		return err
	}
	emailCol := t.named(m.Email)
	if emailCol < 0 {
		return fmt.Errorf("no email column %q, found %s", m.Email, t.columnsFound())
	}
	statusCol := t.named(m.Status)
	if statusCol < 0 {
		return fmt.Errorf("no status column %q, found %s", m.Status, t.columnsFound())
	}
	nameCol, aliasCol := -1, -1
	if m.Name != "" {
		if nameCol = t.named(m.Name); nameCol < 0 {
			return fmt.Errorf("no name column %q, found %s", m.Name, t.columnsFound())
		}
	}
	if m.Aliases != "" {
		if aliasCol = t.named(m.Aliases); aliasCol < 0 {
			return fmt.Errorf("no aliases column %q, found %s", m.Aliases, t.columnsFound())
		}
	}
	for i, row := range t.rows {
		status := cell(row, statusCol)
		r := record{
			addresses: append([]string{cell(row, emailCol)}, splitList(cell(row, aliasCol))...),
			name:      cell(row, nameCol),
			status:    status,
			active:    m.isActive(status),
			where:     fmt.Sprintf("line %d", t.lines[i]),
		}
		if err := b.add(r); err != nil {
			return err
		}
	}
	return nil
}
