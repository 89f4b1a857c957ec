package scim

import (
	"strings"
	"unicode"
)

// personName is the parts of a name the service derives for a user whose
// stored attributes have none (a member read from the Team page, or a user
// created without a name).
type personName struct {
	Given, Family, Formatted string
}

// doc returns the name as the value of the name attribute.
func (n personName) doc() map[string]any {
	m := map[string]any{"givenName": n.Given, "familyName": n.Family}
	if n.Formatted != "" {
		m["formatted"] = n.Formatted
	}
	return m
}

// splitName derives the name parts of a name as written, keeping its case:
//
//   - white space is collapsed; the formatted name is the name so collapsed;
//   - "Family, Given" (a comma, as directories write names) is read as
//     such; a suffix after a comma ("Jr.", "PhD", …) is not a given name;
//   - in a name written in CJK scripts (Han, Hiragana, Katakana, Hangul),
//     the first word is the family name and the rest the given name, the
//     order those names are written in;
//   - otherwise the last word is the family name and the rest the given
//     name;
//   - a name of one word is both;
//   - a name that is an email address is read from its local part, without a
//     "+tag", split on ".", "_" and "-": the last part is the family name and
//     the rest, joined with spaces, the given name; a local part of one part
//     is both, and the formatted name is the parts joined with spaces.
//
// An empty name derives nothing (ok false).
func splitName(s string) (n personName, ok bool) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return personName{}, false
	}
	if len(words) == 1 {
		if local, isEmail := localPart(words[0]); isEmail {
			return splitLocalPart(local), true
		}
	}
	formatted := strings.Join(words, " ")
	parts := commaParts(formatted)
	if len(parts) == 2 {
		return personName{Given: parts[1], Family: parts[0], Formatted: formatted}, true
	}
	if len(parts) == 1 {
		words = strings.Fields(parts[0])
	}
	switch {
	case len(words) == 1:
		return personName{Given: words[0], Family: words[0], Formatted: formatted}, true
	case cjkName(formatted):
		return personName{Given: strings.Join(words[1:], " "), Family: words[0], Formatted: formatted}, true
	}
	last := len(words) - 1
	return personName{Given: strings.Join(words[:last], " "), Family: words[last], Formatted: formatted}, true
}

// nameSuffixes are the words after a comma that end a name rather than
// give its given name ("Jane Doe, PhD"), compared without dots and case.
var nameSuffixes = map[string]bool{
	"jr": true, "sr": true, "ii": true, "iii": true, "iv": true, "v": true,
	"phd": true, "md": true, "esq": true, "mba": true, "cpa": true, "dds": true, "rn": true,
}

// commaParts splits a name written with commas into its parts, trimmed and
// without empty ones or the suffixes that end it: "Smith, John" is two
// parts (the family name first, as directories write it), "Jane Doe, PhD"
// one. A name without a comma has no parts.
func commaParts(s string) []string {
	if !strings.Contains(s, ",") {
		return nil
	}
	var parts []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	for len(parts) > 1 && nameSuffixes[strings.ToLower(strings.ReplaceAll(parts[len(parts)-1], ".", ""))] {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// localPart returns the local part of s when s is shaped as an email
// address: something, an "@", and a domain.
func localPart(s string) (string, bool) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", false
	}
	return s[:at], true
}

// splitLocalPart derives the name parts of an address's local part.
func splitLocalPart(local string) personName {
	if tag := strings.IndexByte(local, '+'); tag > 0 {
		local = local[:tag]
	}
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	switch len(parts) {
	case 0:
		return personName{Given: local, Family: local, Formatted: local}
	case 1:
		return personName{Given: parts[0], Family: parts[0], Formatted: parts[0]}
	}
	last := len(parts) - 1
	return personName{Given: strings.Join(parts[:last], " "), Family: parts[last], Formatted: strings.Join(parts, " ")}
}

// cjkName reports whether every letter of s is of a CJK script.
func cjkName(s string) bool {
	letters := 0
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		if !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			return false
		}
	}
	return letters > 0
}

// derivedName returns the name the service shows for r when its stored
// attributes have none: derived from its displayName (a member's name on
// the Team page, or the one the client set), else from its Clay address.
func derivedName(r *userRecord) personName {
	if n, ok := splitName(docString(r.Doc, "displayName")); ok {
		return n
	}
	n, _ := splitName(r.Email)
	return n
}

// withName sets the derived name in doc, the document of r, when r's
// stored attributes have no name; it reports whether it did.
func withName(doc map[string]any, r *userRecord) bool {
	if _, has := r.Doc["name"]; has {
		return false
	}
	doc["name"] = derivedName(r).doc()
	return true
}
