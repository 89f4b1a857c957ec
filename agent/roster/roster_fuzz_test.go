package roster_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// emailSeeds are addresses an operator or the page may produce, the
// awkward ones included.
var emailSeeds = []string{
	"john.smith@acme.test",
	" John.Smith@ACME.test ",
	"Jo.Park@Acme.test",
	"\tal@acme.test\n",
	"sal@acme.test",
	"kal@acme.test.io",
	"a@b.c",
	"first+tag@sub.corp.example",
	"o'neil@acme.test",
	"x@y",
	"a@b..c",
	"a@.b.c",
	"a@b.c.",
	"@acme.test",
	"al@@acme.test",
	"John <john@acme.test>",
	"<john@acme.test>",
	`"john smith"@acme.test`,
	"john smith@acme.test",
	"a@b.c, d@e.f",
	"a@b.c;d@e.f",
	"(comment)a@b.c",
	"ÅSA@ACME.TEST",
	"\u212Aal@acme.test", // KELVIN SIGN, lower-cases to "k"
	"İ@acme.test",
	"ß@acme.test",
	"ǅ@acme.test",
	"a\u00a0b@acme.test",
	"a\u200bb@acme.test",
	"\xff@acme.test",
	"a@b.c\x00",
	"",
	"   ",
}

// flipASCIICase swaps the case of every ASCII letter at an odd position.
func flipASCIICase(s string) string {
	b := []byte(s)
	for i := range b {
		if i%2 == 1 {
			switch {
			case b[i] >= 'a' && b[i] <= 'z':
				b[i] -= 'a' - 'A'
			case b[i] >= 'A' && b[i] <= 'Z':
				b[i] += 'a' - 'A'
			}
		}
	}
	return string(b)
}

// FuzzNormalizeEmail checks NormalizeEmail and SameEmail on any input:
// no panic, idempotence, ASCII case and surrounding space ignored, and
// equality of the whole normalized text, never a part of it.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range emailSeeds {
		f.Add(s, "sal@acme.test")
	}
	f.Add("al@acme.test", "sal@acme.test")
	f.Add("al@acme.test", "al@acme.test.io")
	f.Fuzz(func(t *testing.T, a, b string) {
		n := roster.NormalizeEmail(a)
		assert.Equal(t, n, roster.NormalizeEmail(n), "idempotent")
		assert.Equal(t, strings.TrimSpace(n), n, "no surrounding space")
		assert.True(t, roster.SameEmail(a, a), "reflexive")
		assert.True(t, roster.SameEmail(a, n), "an address is the same as its normal form")
		assert.True(t, roster.SameEmail(a, " \t"+flipASCIICase(a)+"\n "), "ASCII case and surrounding space do not matter")
		assert.True(t, roster.SameEmail(strings.ToUpper(n), n) || !isASCII(n), "upper-case ASCII is the same address")

		same := roster.SameEmail(a, b)
		assert.Equal(t, same, roster.SameEmail(b, a), "symmetric")
		assert.Equal(t, same, roster.NormalizeEmail(a) == roster.NormalizeEmail(b), "equality of the normal forms")
		nb := roster.NormalizeEmail(b)
		if n != "" && nb != n && strings.Contains(nb, n) {
			assert.False(t, same, "%q contains %q but is another address", nb, n)
		}
		if n != "" {
			for _, other := range []string{"x" + n, n + "x", "s" + n, n + ".io"} {
				assert.False(t, roster.SameEmail(n, other), "%q never matches %q", n, other)
			}
		}
	})
}

// FuzzParseEmail checks ParseEmail on any input: no panic; a rejection
// wraps ErrInvalidEmail; an accepted address is normalized, a bare
// addr-spec with one "@" and a dotted domain, and parses again to itself.
func FuzzParseEmail(f *testing.F) {
	for _, s := range emailSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := roster.ParseEmail(s)
		if err != nil {
			assert.True(t, errors.Is(err, roster.ErrInvalidEmail), "%v wraps ErrInvalidEmail", err)
			assert.Empty(t, e)
			return
		}
		require.NotEmpty(t, e)
		assert.Equal(t, roster.NormalizeEmail(s), e, "the accepted form is the normal form")
		assert.True(t, roster.SameEmail(s, e))
		again, err := roster.ParseEmail(e)
		require.NoError(t, err, "%q was accepted once", e)
		assert.Equal(t, e, again, "a normalized address parses to itself")
		upper, err := roster.ParseEmail(" " + flipASCIICase(e) + " ")
		require.NoError(t, err)
		assert.Equal(t, e, upper, "case and surrounding space do not change the address")

		assert.True(t, utf8.ValidString(e), "%q is valid UTF-8", e)
		assert.Equal(t, 1, strings.Count(e, "@"))
		local, domain, _ := strings.Cut(e, "@")
		assert.NotEmpty(t, local)
		assert.Contains(t, domain, ".")
		assert.False(t, strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."), "domain %q", domain)
		assert.False(t, strings.ContainsAny(e, " \t\r\n<>,;\"()[]\\"), "%q has no separators, quotes or brackets", e)

		r := roster.Roster{Members: []roster.Member{
			{Email: "x" + e}, {Email: e + ".io"}, {Email: strings.ToUpper(e)}, {Email: local + "@x" + domain},
		}}
		found := r.FindMembers(e)
		if isASCII(e) {
			require.Len(t, found, 1, "only the whole address matches")
			assert.Equal(t, strings.ToUpper(e), found[0].Email)
		}
		for _, m := range found {
			assert.True(t, roster.SameEmail(m.Email, e))
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// TestEmailRules pins the decisions the fuzz tests rely on.
func TestEmailRules(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" John.Smith@ACME.test ", "john.smith@acme.test", true},
		{"first+tag@sub.corp.example", "first+tag@sub.corp.example", true},
		{"o'neil@acme.test", "o'neil@acme.test", true},
		{"x@y", "", false},
		{"a@b..c", "", false},
		{"a@.b.c", "", false},
		{"a@b.c.", "", false},
		{"@acme.test", "", false},
		{"al@@acme.test", "", false},
		{"John <john@acme.test>", "", false},
		{"<john@acme.test>", "", false},
		{`"john smith"@acme.test`, "", false},
		{"john smith@acme.test", "", false},
		{"a@b.c, d@e.f", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := roster.ParseEmail(tc.in)
			if !tc.ok {
				assert.ErrorIs(t, err, roster.ErrInvalidEmail)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	assert.False(t, roster.SameEmail("al@acme.test", "sal@acme.test"))
	assert.False(t, roster.SameEmail("kal@acme.test", "kal@acme.test.io"))
	assert.True(t, roster.SameEmail("Jo.Park@Acme.test", " jo.park@acme.TEST"))
}
