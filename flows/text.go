package flows

import (
	"slices"
	"strings"
	"unicode"
)

// trim shortens s to n runes, marking a cut with an ellipsis.
func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// isEmailRune reports whether r may be part of an email address.
func isEmailRune(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._%+-@", r))
}

// isWordRune reports whether r may be part of a word of a name.
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mentions reports whether text holds s, ignoring case, with no part char
// right before or after it.
func mentions(text, s string, part func(rune) bool) bool {
	if s == "" {
		return false
	}
	lt, ls := []rune(strings.ToLower(text)), []rune(strings.ToLower(s))
	for i := 0; i+len(ls) <= len(lt); i++ {
		if !slices.Equal(lt[i:i+len(ls)], ls) {
			continue
		}
		before := i == 0 || !part(lt[i-1])
		after := i+len(ls) == len(lt) || !part(lt[i+len(ls)])
		if part(ls[len(ls)-1]) && i+len(ls) < len(lt) && lt[i+len(ls)] == '.' && i+len(ls)+1 < len(lt) && part(lt[i+len(ls)+1]) {
			after = false // "ann@acme.test" inside "ann@acme.test.org"
		}
		if before && after {
			return true
		}
	}
	return false
}
