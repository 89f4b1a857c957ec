// Package recording turns what the agent saw of the live Team page (the
// document as served, its scripts and styles, its rendered DOM and the /v3
// JSON it loaded) into a recording that is safe to share and to commit as
// a fixture: emails, names, ids, cookies and tokens are replaced,
// consistently across every file, and a final scan (Leaks) finds anything
// still shaped like personal data. Scripts are code: they are redacted as
// text and kept, so that the page's own code runs when the recording is
// replayed; the rendered DOM (HTML) drops them.
package recording

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	emailRE  = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	scriptRE = regexp.MustCompile(`(?is)<script\b[^>]*>.*?</script\s*>`)
	// values of hidden inputs and of meta tags that carry tokens
	hiddenRE = regexp.MustCompile(`(?i)(<input\b[^>]*\btype=["']?hidden["']?[^>]*\bvalue=)("[^"]*"|'[^']*')`)
	metaRE   = regexp.MustCompile(`(?i)(<meta\b[^>]*\bname=["'][^"']*(csrf|token|session)[^"']*["'][^>]*\bcontent=)("[^"]*"|'[^']*')`)
	secretRE = regexp.MustCompile(`(?i)(token|secret|password|passwd|cookie|session|api[_-]?key|authorization|auth|signature|sig)$`)
	nameKeys = map[string]bool{"name": true, "fullname": true, "full_name": true, "displayname": true, "display_name": true, "firstname": true, "first_name": true, "lastname": true, "last_name": true}
	idRE     = regexp.MustCompile(`(?i)^(id|.*_id|.*Id)$`)
	// a text node of one to three capitals or letters without case: an
	// avatar's initials
	initialsRE = regexp.MustCompile(`>(\s*)([\p{Lu}\p{Lo}]{1,3})(\s*)<`)
	wordRE     = regexp.MustCompile(`[\p{L}\p{N}]+`)
	// tokenRE is a whole token as tokenIndexes sees one: a run of letters
	// and digits
	tokenRE = regexp.MustCompile(`[\p{L}\p{N}]+`)
)

// Redactor replaces personal data and secrets with stable stand-ins: the
// same email (compared case-insensitively) always gets the same stand-in,
// in the DOM and in every JSON file.
type Redactor struct {
	emails map[string]string
	names  map[string]string
	ids    map[string]string
	// seen are the original ids met so far, learned or replaced: no
	// stand-in takes one of their values, so an id left in a file is
	// always a leak and a stand-in never one.
	seen   map[string]bool
	nextID int
	uuids  map[string]string
	// words are the words of names taken from rows the page script could
	// not read, looked for one by one by Leaks.
	words map[string]bool
	// Workspace, when set, is replaced by WorkspaceStandIn wherever it
	// appears in a path.
	Workspace        string
	WorkspaceStandIn string
	counts           map[string]int
}

// New returns an empty Redactor.
func New(workspace string) *Redactor {
	return &Redactor{
		emails: map[string]string{}, names: map[string]string{}, ids: map[string]string{}, seen: map[string]bool{},
		uuids: map[string]string{}, words: map[string]bool{},
		Workspace: workspace, WorkspaceStandIn: "1234", counts: map[string]int{},
	}
}

// Counts says how many distinct values of each kind were replaced.
func (r *Redactor) Counts() map[string]int {
	out := map[string]int{"emails": len(r.emails), "names": len(r.names), "ids": len(r.ids) + len(r.uuids)}
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

func (r *Redactor) email(e string) string {
	k := strings.ToLower(e)
	if s, ok := r.emails[k]; ok {
		return s
	}
	s := fmt.Sprintf("user%03d@example.test", len(r.emails)+1)
	r.emails[k] = s
	return s
}

func (r *Redactor) name(n string) string {
	if s, ok := r.names[n]; ok {
		return s
	}
	s := fmt.Sprintf("Person %03d", len(r.names)+1)
	r.names[n] = s
	return s
}

// id returns the stand-in of an id: the next number from 1001 on that is
// no original id met so far, nor the workspace's id or its stand-in.
func (r *Redactor) id(v string) string {
	if s, ok := r.ids[v]; ok {
		return s
	}
	r.seen[v] = true
	for {
		r.nextID++
		s := strconv.Itoa(1000 + r.nextID)
		if !r.seen[s] && s != r.Workspace && s != r.WorkspaceStandIn {
			r.ids[v] = s
			return s
		}
	}
}

// learnID notes an original id without giving it a stand-in yet.
func (r *Redactor) learnID(v string) {
	r.seen[v] = true
	for r.seen[r.WorkspaceStandIn] && r.WorkspaceStandIn != r.Workspace {
		// an id that equals the workspace stand-in would read as a leak
		// wherever the stand-in is: take another one
		r.WorkspaceStandIn += "0"
	}
}

// LearnName registers a person's name, e.g. one read from the page, so that
// the DOM is redacted even when no JSON carried it.
func (r *Redactor) LearnName(n string) {
	if strings.TrimSpace(n) != "" && !emailRE.MatchString(n) {
		r.name(n)
	}
}

// LearnJSON walks a JSON document first, so that the names and ids it
// holds are known when the DOM is redacted. Call it for every document
// before redacting any: ids get their stand-ins only when redacted, and a
// stand-in never takes the value of an id learned before.
func (r *Redactor) LearnJSON(data []byte) {
	var v any
	if json.Unmarshal(data, &v) == nil {
		r.learn(v, "")
	}
}

// learn is walk without replacing: it notes names and ids.
func (r *Redactor) learn(v any, key string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			r.learn(e, k)
		}
	case []any:
		for _, e := range x {
			r.learn(e, key)
		}
	case string:
		switch {
		case secretRE.MatchString(key):
		case nameKeys[strings.ToLower(key)] && x != "" && !emailRE.MatchString(x):
			r.name(x)
		case idRE.MatchString(key) && isDigits(x):
			r.learnID(x)
		}
	case float64:
		if idRE.MatchString(key) {
			r.learnID(strconv.FormatFloat(x, 'f', -1, 64))
		}
	}
}

// JSON redacts a JSON document: emails in any string, values of name keys,
// numeric ids, and the values of keys that look like secrets. A body that
// is not JSON is redacted as text.
func (r *Redactor) JSON(data []byte) []byte {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return []byte(r.Text(string(data)))
	}
	out, err := json.MarshalIndent(r.walk(v, ""), "", "  ")
	if err != nil {
		return []byte(r.Text(string(data)))
	}
	return out
}

func (r *Redactor) walk(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			x[k] = r.walk(x[k], k)
		}
		return x
	case []any:
		for i := range x {
			x[i] = r.walk(x[i], key)
		}
		return x
	case string:
		switch {
		case secretRE.MatchString(key):
			r.counts["secrets"]++
			return "REDACTED"
		case nameKeys[strings.ToLower(key)] && x != "" && !emailRE.MatchString(x):
			return r.name(x)
		case idRE.MatchString(key) && isDigits(x):
			return r.id(x)
		}
		return r.Text(x)
	case float64:
		if idRE.MatchString(key) {
			n, _ := strconv.Atoi(r.id(strconv.FormatFloat(x, 'f', -1, 64)))
			return n
		}
		return x
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Text redacts emails (in every form an address may take), known names,
// the workspace id, known ids and UUIDs in free text.
func (r *Redactor) Text(s string) string { return r.text(s, false) }

// text is Text; in code, the part of an address's local part up to its
// last ' or ` is kept: there it is far more likely the quote that opens a
// string ('name@corp.com') or the code before it (x='name@corp.com') than
// part of the address, and the rest is replaced all the same.
func (r *Redactor) text(s string, code bool) string {
	s = anyEmailRE.ReplaceAllStringFunc(s, func(m string) string {
		if isStandIn(m) || assetTLD.MatchString(m) {
			return m
		}
		keep := ""
		if code && !strings.HasPrefix(m, `"`) {
			local := m[:strings.LastIndexByte(m, '@')]
			if i := strings.LastIndexAny(local, "'`"); i >= 0 {
				keep, m = m[:i+1], m[i+1:]
			}
		}
		return keep + r.email(m)
	})
	// longest names first, so "Ana López" goes before "Ana"
	names := make([]string, 0, len(r.names))
	for n := range r.names {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		if len(n) < 3 {
			continue
		}
		s = strings.ReplaceAll(s, n, r.names[n])
		if esc := htmlEscape(n); esc != n {
			s = strings.ReplaceAll(s, esc, r.names[n])
		}
	}
	if r.Workspace != "" {
		s = strings.ReplaceAll(s, "/workspaces/"+r.Workspace, "/workspaces/"+r.WorkspaceStandIn)
	}
	// the workspace id and the ids in one pass, so that a stand-in that
	// happens to equal another id is never replaced again
	s = tokenRE.ReplaceAllStringFunc(s, func(tok string) string {
		if r.Workspace != "" && tok == r.Workspace {
			return r.WorkspaceStandIn
		}
		if r.seen[tok] && len(tok) >= minIDLen {
			return r.id(tok)
		}
		return tok
	})
	return uuidRE.ReplaceAllStringFunc(s, func(m string) string {
		if standInUUIDRE.MatchString(m) {
			return m
		}
		return r.uuid(m)
	})
}

// isStandIn reports whether an address found in redacted text is a
// stand-in, perhaps after characters a wide match took with it ("=user001@…").
func isStandIn(v string) bool {
	if standInEmailRE.MatchString(v) {
		return true
	}
	i := strings.LastIndex(v, "user")
	return i > 0 && standInEmailRE.MatchString(v[i:]) && !strings.ContainsAny(v[:i], `"&`)
}

// htmlEscape escapes s as HTML text.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// Document redacts an HTML document as the server sent it, scripts
// included: hidden inputs and token meta tags are emptied, avatar initials
// replaced, and everything else, the scripts' code too, redacted as by
// Script. Unlike HTML it drops nothing, so that the page's own code still
// runs when the document is replayed.
func (r *Redactor) Document(html string) string {
	r.counts["scripts"] += len(scriptRE.FindAllStringIndex(html, -1))
	html = hiddenRE.ReplaceAllString(html, `$1""`)
	html = metaRE.ReplaceAllString(html, `$1""`)
	html = r.initials(html)
	return r.text(html, true)
}

// Script redacts a script or a style sheet: code is kept, and personal
// data inside it is redacted as by Text, except that a quote that opens a
// string before an address is kept with the code before it.
func (r *Redactor) Script(src string) string { return r.text(src, true) }

// Query redacts a URL's query string (without the "?"): the values of
// keys that look like secrets become REDACTED, numeric ids and names get
// their stand-ins (as in JSON), and everything else is redacted as by
// Text. The parameters keep their order.
func (r *Redactor) Query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, v, hasValue := strings.Cut(p, "=")
		key, kerr := url.QueryUnescape(k)
		val, verr := url.QueryUnescape(v)
		if kerr != nil || verr != nil {
			parts[i] = r.Text(p)
			continue
		}
		key = r.Text(key)
		switch {
		case !hasValue:
			parts[i] = url.QueryEscape(key)
			continue
		case secretRE.MatchString(key) && val != "":
			r.counts["secrets"]++
			val = "REDACTED"
		case nameKeys[strings.ToLower(key)] && val != "" && !emailRE.MatchString(val):
			val = r.name(val)
		case idRE.MatchString(key) && isDigits(val):
			val = r.id(val)
		default:
			val = r.Text(val)
		}
		parts[i] = url.QueryEscape(key) + "=" + url.QueryEscape(val)
	}
	return strings.Join(parts, "&")
}

// HTML redacts a DOM snapshot: scripts are dropped, hidden inputs and token
// meta tags are emptied, then the text is redacted as by Text.
func (r *Redactor) HTML(html string) string {
	n := len(scriptRE.FindAllStringIndex(html, -1))
	r.counts["scripts"] += n
	html = scriptRE.ReplaceAllString(html, "")
	html = hiddenRE.ReplaceAllString(html, `$1""`)
	html = metaRE.ReplaceAllString(html, `$1""`)
	html = r.initials(html)
	return r.Text(html)
}

// initials replaces avatar initials derived from a known name with the
// initials of its stand-in.
func (r *Redactor) initials(html string) string {
	known := map[string]string{}
	for name, standIn := range r.names {
		to := initialsOf(standIn)
		for _, c := range initialCandidates(name) {
			known[c] = to
		}
	}
	return initialsRE.ReplaceAllStringFunc(html, func(m string) string {
		sub := initialsRE.FindStringSubmatch(m)
		to, ok := known[sub[2]]
		if !ok {
			return m
		}
		r.counts["initials"]++
		return ">" + sub[1] + to + sub[3] + "<"
	})
}

// initialCandidates lists the ways a page may abbreviate a name: the first
// letters of its first and last words, of its first two, of the first
// three, of the first word alone.
func initialCandidates(name string) []string {
	var first []string
	for _, w := range wordRE.FindAllString(name, -1) {
		first = append(first, strings.ToUpper(string([]rune(w)[0])))
	}
	if len(first) == 0 {
		return nil
	}
	out := []string{first[0]}
	if len(first) > 1 {
		out = append(out, first[0]+first[len(first)-1], first[0]+first[1])
	}
	if len(first) > 2 {
		out = append(out, first[0]+first[1]+first[2])
	}
	return out
}

func initialsOf(name string) string {
	c := initialCandidates(name)
	if len(c) > 1 {
		return c[1]
	}
	if len(c) == 1 {
		return c[0]
	}
	return ""
}
