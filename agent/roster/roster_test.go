package roster

import (
	"testing"

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
