// Package textsafe makes text that others control safe to show: member
// names, emails, roles and page messages come from the Team page, and
// anyone who can invite a member or edit a profile chooses them.
//
// Terminal escapes what a terminal would act on or hide: control
// characters (an escape sequence can reset the terminal, change its title
// or rewrite what was printed before), Unicode bidirectional controls
// (which reorder what is shown, so that "gro.evil@ann" reads as something
// else) and invisible format characters. Its result is printable text of
// one line, in which every escape is visible and unambiguous.
//
// CSVCell neutralises spreadsheet formulas in a CSV cell, following the
// OWASP rule against CSV injection.
//
// JSON needs neither: encoding/json escapes control characters, and a
// JSON value must round-trip exactly.
package textsafe
