package roster

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A look-alike address must never match, nor be accepted as, an ASCII one:
// a destructive command would otherwise act on a different account.
func TestLookAlikesNeverMatch(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"\u212Aal@acme.test", "kal@acme.test"}, // KELVIN SIGN
		{"\u0130@acme.test", "i@acme.test"},     // LATIN CAPITAL I WITH DOT
		{"ǅ@acme.test", "dž@acme.test"},
	} {
		assert.False(t, SameEmail(tc.a, tc.b), "%q ~ %q", tc.a, tc.b)
		_, err := ParseEmail(tc.a)
		assert.ErrorIs(t, err, ErrInvalidEmail, tc.a)
	}
	assert.True(t, SameEmail(" Jo.Park@Acme.TEST ", "jo.park@acme.test"))
	e, err := ParseEmail("  Jo.Park@Acme.TEST ")
	require.NoError(t, err)
	assert.Equal(t, "jo.park@acme.test", e)
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{
		"admin": Admin, " ADMIN ": Admin, "Editor": Editor, "user": Editor, "Member": Editor,
		"viewer": Viewer, "sales rep": SalesRep, "Sales  Rep": SalesRep, "sales-rep": SalesRep,
	} {
		got, err := ParseRole(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "owner", "member 0007", "superadmin"} {
		_, err := ParseRole(bad)
		assert.ErrorIs(t, err, ErrUnknownRole, bad)
	}
}

func TestParseEmailSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"display name", "John Smith <john.smith@acme.test>", []string{"display name", `give the bare address "john.smith@acme.test"`}},
		{"quoted display name", `"Smith, John" <John.Smith@acme.test>`, []string{"display name", `"John.Smith@acme.test"`}},
		{"angle brackets", "<john@acme.test>", []string{"angle brackets", `"john@acme.test"`}},
		{"space inside", "john smith@acme.test", []string{"white space", "' '", "position 5"}},
		{"tab inside", "john\tsmith@acme.test", []string{"white space", `'\t'`, "position 5"}},
		{"list", "a@acme.test, b@acme.test", []string{"list of addresses", "one address at a time"}},
		{"list without space", "a@acme.test,b@acme.test", []string{"','", "position 12"}},
		{"non-ASCII", "josé@acme.test", []string{"non-ASCII", `'\u00e9'`, "position 4", "only ASCII"}},
		{"non-ASCII after trimming", "  jo.park@acmé.test", []string{"non-ASCII", `'\u00e9'`, "position 12"}},
		{"look-alike", "\u212Aal@acme.test", []string{"non-ASCII", `'\u212a'`, "position 1"}},
		{"bidi override", "al\u202e@acme.test", []string{"non-ASCII", `'\u202e'`, "position 3"}},
		{"escape sequence", "al\x1b[31m@acme.test", []string{"control character", `'\x1b'`, "position 3"}},
		{"delete", "al\x7f@acme.test", []string{"control character", `'\x7f'`, "position 3"}},
		{"invalid UTF-8", "al\xff@acme.test", []string{"invalid UTF-8", "position 3"}},
		{"no @", "john.acme.test", []string{`no "@"`}},
		{"two @", "al@@acme.test", []string{`more than one "@"`}},
		{"empty local part", "@acme.test", []string{`nothing before the "@"`}},
		{"no dot in the domain", "x@acme", []string{`the domain "acme" has no dot`}},
		{"empty label", "a@b..c", []string{`"b..c"`, "empty label"}},
		{"empty", "  ", []string{"empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEmail(tc.in)
			require.ErrorIs(t, err, ErrInvalidEmail)
			assert.Empty(t, got)
			msg := err.Error()
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
			for _, r := range msg {
				assert.False(t, r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' || r == utf8.RuneError,
					"no control character reaches the terminal: %q", msg)
			}
		})
	}
}
