package recording

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// anyEmailRE finds what looks like an address in the widest sense RFC
	// 5321 allows: a dot-atom local part (every atext character, ' and =
	// included) or a quoted one ("a,b"@x.com, raw or HTML-escaped), then a
	// domain. The page script reads only the common forms; a recording must
	// not keep the others.
	anyEmailRE = regexp.MustCompile(`(?:"(?:[^"\\\r\n<>]|\\.){1,64}"|&quot;.{1,64}?&quot;|&#34;.{1,64}?&#34;|[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~.\-]{1,64})@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}`)
	// standInEmailRE is what the redactor puts in an address's place.
	standInEmailRE = regexp.MustCompile(`^user\d{3,}@example\.test$`)
	uuidRE         = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	standInUUIDRE  = regexp.MustCompile(`^00000000-0000-4000-8000-\d{12}$`)
	// assetTLD are the "domains" of file names such as logo@2x.png.
	assetTLD = regexp.MustCompile(`(?i)\.(png|jpe?g|gif|svg|webp|avif|ico|css|js|mjs|map|woff2?|ttf)$`)
	// uiWords are words of the Team page itself, never taken for a name.
	uiWords = map[string]bool{}
)

func init() {
	for _, w := range strings.Fields("admin administrator editor viewer sales rep member members user users you remove delete revoke cancel invite invited invitation invitations pending sent expired awaiting response resend team settings role roles more actions owner") {
		uiWords[w] = true
	}
}

// LearnUnreadable registers the text of a row whose email the page script
// could not read, so that its name is redacted too: what remains of the
// text once addresses, role names, status words and control labels are
// taken out is taken for a name, and each of its words is checked by Leaks.
func (r *Redactor) LearnUnreadable(text string) {
	rest := anyEmailRE.ReplaceAllString(text, " ")
	var words []string
	for _, w := range strings.Fields(rest) {
		k := strings.ToLower(strings.Trim(w, "()[]{},.;:!?\"'"))
		if k == "" || uiWords[k] {
			continue
		}
		words = append(words, w)
		if n := len([]rune(k)); n >= 3 {
			r.words[k] = true
		}
	}
	if len(words) > 0 {
		r.LearnName(strings.Join(words, " "))
	}
}

// uuid returns the stand-in of a UUID.
func (r *Redactor) uuid(v string) string {
	k := strings.ToLower(v)
	if s, ok := r.uuids[k]; ok {
		return s
	}
	s := fmt.Sprintf("00000000-0000-4000-8000-%012d", len(r.uuids)+1)
	r.uuids[k] = s
	return s
}

// Leak is a string left in a redacted file that looks like personal data.
// It names the kind and the place, never the value.
type Leak struct {
	File   string
	Offset int
	Kind   string
}

func (l Leak) String() string { return fmt.Sprintf("%s at byte %d of %s", l.Kind, l.Offset, l.File) }

// Leaks scans redacted files (their names and their contents) for anything
// that still looks like personal data: an address that is not a stand-in,
// a UUID that is not one, the workspace id, an id, a name or a word of a
// name the redactor learned. A recording with any leak must not be
// written: the scan covers every string that looks like one, not only the
// values the page script recognised.
func (r *Redactor) Leaks(files map[string][]byte) []Leak {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Leak
	for _, name := range names {
		out = append(out, r.scan(name+" (its name)", name)...)
		out = append(out, r.scan(name, string(files[name]))...)
	}
	return out
}

func (r *Redactor) scan(file, s string) []Leak {
	var out []Leak
	add := func(at int, kind string) { out = append(out, Leak{File: file, Offset: at, Kind: kind}) }
	for _, m := range anyEmailRE.FindAllStringIndex(s, -1) {
		v := s[m[0]:m[1]]
		if isStandIn(v) || assetTLD.MatchString(v) {
			continue
		}
		add(m[0], "an email address")
	}
	for _, m := range uuidRE.FindAllStringIndex(s, -1) {
		if !standInUUIDRE.MatchString(s[m[0]:m[1]]) {
			add(m[0], "a UUID")
		}
	}
	if r.Workspace != "" && r.Workspace != r.WorkspaceStandIn {
		for _, at := range tokenIndexes(s, r.Workspace) {
			add(at, "the workspace id")
		}
	}
	for id := range r.seen {
		if len(id) >= minIDLen {
			for _, at := range tokenIndexes(s, id) {
				add(at, "an id")
			}
		}
	}
	lower := strings.ToLower(s)
	for n := range r.names {
		if len(n) < 3 {
			continue
		}
		for _, v := range []string{n, htmlEscape(n)} {
			if i := strings.Index(s, v); i >= 0 {
				add(i, "a name")
				break
			}
		}
	}
	for w := range r.words {
		if at := tokenIndexes(lower, w); len(at) > 0 {
			add(at[0], "a word of a name")
		}
	}
	return out
}

// minIDLen is the shortest id replaced and looked for in free text:
// shorter numbers are counts and sizes far more often than ids.
const minIDLen = 4

// tokenIndexes returns the offsets of every whole-token occurrence of v
// in s: not inside a longer run of letters and digits.
func tokenIndexes(s, v string) []int {
	var out []int
	if v == "" {
		return nil
	}
	for from := 0; ; {
		i := strings.Index(s[from:], v)
		if i < 0 {
			return out
		}
		at := from + i
		end := at + len(v)
		before, _ := utf8.DecodeLastRuneInString(s[:at])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (at == 0 || !isWordRune(before)) && (end == len(s) || !isWordRune(after)) {
			out = append(out, at)
		}
		from = at + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }
