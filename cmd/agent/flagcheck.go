package main

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// checkBlankFlags refuses a flag given on the command line with an empty or
// blank value. A script that passes an unset variable ("--allow-domain
// $DOMAIN") must not get a default in its place: for some flags the
// default is to touch more (no domain guard, another audit log), so a
// blank value is a mistake to stop on, never a way to ask for the default.
func checkBlankFlags(fs *pflag.FlagSet) error {
	var bad *pflag.Flag
	fs.Visit(func(f *pflag.Flag) {
		if bad == nil && blankValue(f) {
			bad = f
		}
	})
	if bad != nil {
		return usageError("--%s was given an empty value: leave the flag out to use its default", bad.Name)
	}
	return nil
}

// blankValue reports whether a flag that takes text was set to nothing:
// an empty or blank string, or a list that is empty or has a blank item
// ("--allow-domain ”" and "--allow-domain corp.com," both count).
func blankValue(f *pflag.Flag) bool {
	switch f.Value.Type() {
	case "string":
		return strings.TrimSpace(f.Value.String()) == ""
	case "stringSlice", "stringArray":
		sv, ok := f.Value.(pflag.SliceValue)
		if !ok {
			return false
		}
		items := sv.GetSlice()
		if len(items) == 0 {
			return true
		}
		for _, s := range items {
			if strings.TrimSpace(s) == "" {
				return true
			}
		}
	}
	return false
}

// validDomain reports whether d is a domain name an --allow-domain may
// name: dot-separated labels of letters, digits and inner hyphens, at
// least two labels, an optional leading "@". Wildcards are not domains.
func validDomain(d string) bool {
	d = strings.TrimPrefix(strings.TrimSpace(d), "@")
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// quoteFlagValue quotes a flag's value for a message, escaping anything a
// terminal would interpret.
func quoteFlagValue(s string) string { return strconv.QuoteToASCII(s) }
