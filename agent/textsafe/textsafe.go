package textsafe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Terminal returns s with every character that a terminal would act on,
// or that would hide or reorder text, replaced by a visible escape. The
// escapes are those of a Go (or C) string literal:
//
//   - a backslash becomes \\, so that every backslash in the result starts
//     an escape;
//   - BEL, backspace, form feed, newline, carriage return, tab and
//     vertical tab become \a, \b, \f, \n, \r, \t and \v;
//   - every other C0 control (U+0000–U+001F) and DEL (U+007F) becomes
//     \xNN, e.g. ESC is \x1b;
//   - a byte that is not part of valid UTF-8 becomes \xNN (always \x80 or
//     above, which no ASCII character is);
//   - the C1 controls (U+0080–U+009F), the format characters (Unicode
//     category Cf: the bidirectional controls U+061C, U+200E, U+200F,
//     U+202A–U+202E and U+2066–U+2069, the zero-width U+200B–U+200D, the
//     word joiner U+2060, the byte order mark U+FEFF, the soft hyphen, the
//     tag characters U+E0000–U+E007F, …), the line and paragraph
//     separators U+2028 and U+2029, and the other default-ignorable code
//     points (such as the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0)
//     become \uNNNN, or \UNNNNNNNN above U+FFFF, in lower-case hex.
//
// Everything else, letters and marks of every script, punctuation,
// symbols, emoji and spaces (U+0020, U+00A0, …), is kept as it is. A
// zero-width joiner inside an emoji sequence is escaped too: the escape
// shows that the name holds more than it seems to.
//
// Terminal loses nothing: enclosed in double quotes, with each double
// quote preceded by a backslash, the result is a Go string literal whose
// value is s (see Quote). Distinct inputs give distinct results. The
// result holds no byte below 0x20, no DEL and no character Terminal would
// escape, and escapes are ASCII, so a column of a text/tabwriter table
// stays aligned.
func Terminal(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	appendEscaped(&b, s, false)
	return b.String()
}

// Quote returns s as a double-quoted string escaped as Terminal does, with
// a double quote in s written \". The result is a valid Go string literal
// whose value is s; for printable text it is what strconv.Quote returns.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	appendEscaped(&b, s, true)
	b.WriteByte('"')
	return b.String()
}

// needsEscape reports whether Terminal would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == '\\' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || hidden(r) {
			return true
		}
		i += size
	}
	return false
}

// appendEscaped writes s to b escaped as Terminal documents; with quote, a
// double quote is escaped too.
func appendEscaped(b *strings.Builder, s string, quote bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '\\':
				b.WriteString(`\\`)
			case c == '"' && quote:
				b.WriteString(`\"`)
			case c < 0x20 || c == 0x7f:
				appendControl(b, c)
			default:
				b.WriteByte(c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			appendHexByte(b, c)
		case hidden(r):
			appendRune(b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

// appendControl writes an ASCII control character.
func appendControl(b *strings.Builder, c byte) {
	switch c {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		appendHexByte(b, c)
	}
}

func appendHexByte(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

// appendRune writes r as \uNNNN or \UNNNNNNNN.
func appendRune(b *strings.Builder, r rune) {
	digits := 4
	if r > 0xffff {
		b.WriteString(`\U`)
		digits = 8
	} else {
		b.WriteString(`\u`)
	}
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>shift)&0xf])
	}
}

// hidden reports whether a non-ASCII rune acts on a terminal or on the
// order of text, or shows nothing: a C1 control, a format character, a
// line or paragraph separator, or another default-ignorable code point.
// Variation selectors, which pick the look of the character before them
// (the emoji form of ❤), are kept.
func hidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point)
}
