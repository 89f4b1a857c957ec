package textsafe_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/textsafe"
)

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain ASCII", "Ann Lee <ann@acme.test>", "Ann Lee <ann@acme.test>"},
		{"other scripts and emoji", "Zoë Ålander 李小龍 ❤️ 🚀", "Zoë Ålander 李小龍 ❤️ 🚀"},
		{"quotes are kept", `Robert "Bob" O'Neil`, `Robert "Bob" O'Neil`},
		{"spaces are kept", "a b\u00a0c\u3000d", "a b\u00a0c\u3000d"},
		{"backslash", `C:\x1b`, `C:\\x1b`},
		{"title change", "\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"terminal reset", "\x1bc", `\x1bc`},
		{"colour", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"short escapes", "\a\b\f\n\r\t\v", `\a\b\f\n\r\t\v`},
		{"NUL and other C0", "\x00\x01\x1f", `\x00\x01\x1f`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 controls", "\u0080\u0085\u009b31m\u009f", `\u0080\u0085\u009b31m\u009f`},
		{"right-to-left override", "ann\u202emoc.live@", `ann\u202emoc.live@`},
		{"bidi embeddings and overrides", "\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
		{"bidi isolates", "\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"bidi marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero-width", "a\u200bb\u200cc\u200dd\u2060e\ufeff", `a\u200bb\u200cc\u200dd\u2060e\ufeff`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"soft hyphen", "ad\u00admin", `ad\u00admin`},
		{"Hangul filler", "\u3164", `\u3164`},
		{"tag characters", "a\U000e0041\U000e007f", `a\U000e0041\U000e007f`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"an encoded surrogate is invalid", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"U+FFFD is a character", "\ufffd", "\ufffd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, textsafe.Terminal(tc.in))
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "Ann Lee", `"Ann Lee"`},
		{"double quotes", `Robert "Bob" O'Neil`, `"Robert \"Bob\" O'Neil"`},
		{"escapes", "\x1b]0;x\x07\u202e\\", `"\x1b]0;x\a\u202e\\"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := textsafe.Quote(tc.in)
			assert.Equal(t, tc.want, got)
			v, err := strconv.Unquote(got)
			require.NoError(t, err)
			assert.Equal(t, tc.in, v)
		})
	}
}

func TestCSVCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"name", "Ann Lee", "Ann Lee"},
		{"email", "ann@acme.test", "ann@acme.test"},
		{"formula", `=HYPERLINK("http://evil.test","click")`, `'=HYPERLINK("http://evil.test","click")`},
		{"plus", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"minus", "-2+3", "'-2+3"},
		{"a negative number too", "-3", "'-3"},
		{"at", "@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"tab", "\t=1+1", "'\t=1+1"},
		{"carriage return", "\r=1+1", "'\r=1+1"},
		{"only the first character counts", "Ann=1+1", "Ann=1+1"},
		{"a leading space is not a formula start", " =1+1", " =1+1"},
		{"already quoted", "'=1", "'=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, textsafe.CSVCell(tc.in))
		})
	}
}

// escaped reports whether Terminal must not leave r in its result.
func escaped(r rune) bool {
	return r < 0x20 || r == 0x7f || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp,
		unicode.Other_Default_Ignorable_Code_Point)
}

// checkTerminal asserts Terminal's promises for one input: a result of
// valid UTF-8 with nothing a terminal acts on or hides, and no loss.
func checkTerminal(t *testing.T, s string) {
	t.Helper()
	got := textsafe.Terminal(s)
	require.True(t, utf8.ValidString(got), "%q gives invalid UTF-8 %q", s, got)
	for i, r := range got {
		require.False(t, escaped(r), "%q gives %q, with %U at %d", s, got, r, i)
	}
	// an escape in the result is unambiguous: it decodes back to s
	back, err := strconv.Unquote(`"` + strings.ReplaceAll(got, `"`, `\"`) + `"`)
	require.NoError(t, err, "%q gives %q", s, got)
	require.Equal(t, s, back, "%q gives %q", s, got)
	q, err := strconv.Unquote(textsafe.Quote(s))
	require.NoError(t, err)
	require.Equal(t, s, q)
}

func TestTerminalLeavesNothingToActOn(t *testing.T) {
	// every code point of interest, alone and between letters
	for r := rune(0); r <= 0x3000; r++ {
		checkTerminal(t, string(r))
		checkTerminal(t, "a"+string(r)+"b")
	}
	for _, r := range []rune{0xfeff, 0xffa0, 0xfff9, 0xfffb, 0xfffd, 0x1d173, 0xe0001, 0xe0041, 0xe007f, 0x10ffff} {
		checkTerminal(t, string(r))
	}
	for b := 0x80; b <= 0xff; b++ {
		checkTerminal(t, string([]byte{byte(b)}))
	}
}

func TestTerminalKeepsInputsApart(t *testing.T) {
	// names that differ only in a control or hidden character stay apart,
	// and none is shown as the plain name
	plain := "Ann Lee"
	seen := map[string]string{textsafe.Terminal(plain): plain}
	for _, c := range []string{"\x1b", "\x07", "\x00", "\n", "\t", "\x7f", "\u0085", "\u009b",
		"\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u2028", "\xff", `\`, `\x1b`, `\u202e`} {
		s := "Ann" + c + " Lee"
		got := textsafe.Terminal(s)
		prev, dup := seen[got]
		assert.False(t, dup, "%q and %q both give %q", s, prev, got)
		seen[got] = s
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range []string{
		"", "Ann Lee", "\x1b]0;pwned\x07", "ann\u202emoc.live@", `\x1b`, `\\`, "a\xffb",
		"\u0085", "\U000e0041", "\u200d", "Zoë 李小龍", `"quoted"`,
	} {
		f.Add(s)
	}
	f.Fuzz(checkTerminal)
}
