package idp

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// table is a CSV file read whole: its header and its rows.
type table struct {
	header []string // as written, BOM and surrounding space removed
	keys   []string // headerKey of each header cell
	rows   [][]string
	lines  []int // the line each row starts on
}

// utf8BOM is the byte order mark some exporters (Entra's among them) put
// at the start of a UTF-8 file.
const utf8BOM = "\ufeff"

// readTable reads a CSV file. The delimiter is the one of comma,
// semicolon and tab that the header line holds most of (spreadsheets in
// some locales save with semicolons). Rows may be shorter or longer than
// the header: missing cells read as empty.
func readTable(data []byte) (*table, error) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil, errors.New("the file is UTF-16 text; save it as UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = delimiter(data)
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	t := &table{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a readable CSV file: %w", err)
		}
		line, _ := r.FieldPos(0)
		if t.header == nil {
			for _, h := range rec {
				h = strings.TrimSpace(strings.TrimPrefix(h, utf8BOM))
				t.header = append(t.header, h)
				t.keys = append(t.keys, headerKey(h))
			}
			continue
		}
		if blank(rec) {
			continue
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	if t.header == nil {
		return nil, errors.New("the file is empty")
	}
	return t, nil
}

// delimiter picks the CSV delimiter from the first line of data.
func delimiter(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte{'\n'})
	best, n := ',', bytes.Count(first, []byte{','})
	for _, d := range []rune{';', '\t'} {
		if c := bytes.Count(first, []byte(string(d))); c > n {
			best, n = d, c
		}
	}
	return best
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// headerKey is the form header names are compared in: bracketed notes
// dropped ("Status [READ ONLY]" → "Status"), ASCII letters lower-cased,
// and everything but letters and digits removed (a byte order mark
// included), so that
// "userPrincipalName", "User principal name" and "user_principal_name"
// are one key.
func headerKey(h string) string {
	h = strings.TrimSpace(h)
	for strings.HasSuffix(h, "]") {
		i := strings.LastIndexByte(h, '[')
		if i <= 0 {
			break
		}
		h = strings.TrimSpace(h[:i])
	}
	var b strings.Builder
	for _, r := range h {
		switch {
		case 'A' <= r && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
		case r > 0x7f && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// col returns the index of the first column whose key is one of keys,
// trying the keys in order, or -1.
func (t *table) col(keys ...string) int {
	for _, k := range keys {
		for i, have := range t.keys {
			if have == k {
				return i
			}
		}
	}
	return -1
}

// named returns the index of the column named name: its header equal to
// name ignoring ASCII case and surrounding space, or failing that, with
// the same headerKey. It returns -1 when there is none.
func (t *table) named(name string) int {
	name = strings.TrimSpace(name)
	for i, h := range t.header {
		if strings.EqualFold(h, name) {
			return i
		}
	}
	if k := headerKey(name); k != "" {
		return t.col(k)
	}
	return -1
}

// cell returns row's cell in column i, trimmed; "" when i is -1 or the
// row is short.
func cell(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// columnsFound describes the header for messages: its first dozen
// columns, quoted.
func (t *table) columnsFound() string {
	const shown = 12
	var parts []string
	for i, h := range t.header {
		if i == shown {
			parts = append(parts, fmt.Sprintf("… (%d in all)", len(t.header)))
			break
		}
		parts = append(parts, fmt.Sprintf("%q", h))
	}
	if len(parts) == 0 {
		return "no columns"
	}
	return "columns " + strings.Join(parts, ", ")
}

// splitList splits a cell holding several values (proxy addresses, other
// mails) on semicolons, commas and white space.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}
