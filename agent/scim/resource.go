package scim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// UserID returns the SCIM id of the user whose Clay address is email: the
// first 32 hex digits of the SHA-256 of the address as roster.NormalizeEmail
// leaves it (trimmed, ASCII letters lower-cased). It depends on nothing
// else, so it is the same across restarts, page layouts and hosts.
func UserID(email string) string {
	sum := sha256.Sum256([]byte(roster.NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])[:32]
}

// userRecord is what the store keeps of a user.
type userRecord struct {
	ID string `json:"id"`
	// Email is the Clay address, normalized; it never changes.
	Email string `json:"email"`
	// Doc holds the user's SCIM attributes as the client last set them
	// (canonical form), without the ones the service derives: schemas,
	// id, meta, active, groups, password and the Clay extension.
	Doc map[string]any `json:"doc"`
	// Active, Pending and Role are the user's state in Clay as last known:
	// a member (Active), an invitee (Active and Pending), or neither.
	Active       bool        `json:"active"`
	Pending      bool        `json:"pending"`
	Role         roster.Role `json:"role,omitempty"`
	Created      time.Time   `json:"created"`
	LastModified time.Time   `json:"lastModified"`
	// Groups are the ids of the role groups the client put the user in,
	// from the most privileged role down; the role is the first one's.
	// They hold while it is (see heldGroupIDs).
	Groups []string `json:"groups,omitempty"`
}

// derived lists the attributes of a user document the service derives
// rather than keeps.
var derived = []string{"schemas", "id", "meta", "active", "groups", "password", SchemaClayUser}

// stripDerived removes the derived attributes from doc.
func stripDerived(doc map[string]any) {
	for _, k := range derived {
		delete(doc, k)
	}
}

// docString returns the string doc holds at key, or "".
func docString(doc map[string]any, key string) string {
	s, _ := doc[key].(string)
	return s
}

// version returns the record's weak ETag: it changes whenever the
// resource does (its attributes or its state), and does not depend on the
// host it is served under.
func (r *userRecord) version() string {
	v := map[string]any{
		"doc": r.Doc, "email": r.Email, "active": r.Active, "pending": r.Pending, "role": r.Role,
	}
	if len(r.Groups) > 0 {
		v["groups"] = r.Groups
	}
	b, _ := json.Marshal(v)
	return weakTag(b)
}

func weakTag(b []byte) string {
	sum := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(sum[:])[:16] + `"`
}

// clone returns a deep copy of r.
func (r *userRecord) clone() *userRecord {
	c := *r
	c.Groups = slices.Clone(r.Groups)
	c.Doc, _ = deepCopy(r.Doc).(map[string]any)
	if c.Doc == nil {
		c.Doc = map[string]any{}
	}
	return &c
}

// state is a user's state in Clay.
type state struct {
	Active  bool
	Pending bool
	Role    roster.Role
}

func (r *userRecord) state() state { return state{Active: r.Active, Pending: r.Pending, Role: r.Role} }

// timeFormat is how meta dates are written.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// object is a JSON object written with its members in a readable order:
// schemas and id first, meta last.
type object map[string]any

var memberRank = map[string]int{
	"schemas": 0, "id": 1, "externalId": 2, "userName": 3, "displayName": 4, "name": 5,
	"active": 6, "emails": 7, "members": 8, "groups": 90, SchemaEnterpriseUser: 91, SchemaClayUser: 92, "meta": 99,
}

// MarshalJSON writes o with its members in memberRank order, then by name.
func (o object) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if r, ok := memberRank[k]; ok {
			return r
		}
		return 50
	}
	sort.Slice(keys, func(i, j int) bool {
		if ri, rj := rank(keys[i]), rank(keys[j]); ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(o[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// roleGroup is the group of the users holding one Clay role.
type roleGroup struct {
	ID   string
	Role roster.Role
	Name string
}

// groups are the fixed groups, one per role, in the page's order. Their
// ids are "role-" and the role's name lower-cased with spaces as dashes.
var groups = func() []roleGroup {
	var out []roleGroup
	for _, r := range roster.Roles {
		out = append(out, roleGroup{
			ID:   "role-" + strings.ReplaceAll(strings.ToLower(string(r)), " ", "-"),
			Role: r,
			Name: "Clay " + string(r),
		})
	}
	return out
}()

// groupOf returns the group of role, if there is one.
func groupOf(role roster.Role) (roleGroup, bool) {
	for _, g := range groups {
		if g.Role == role {
			return g, true
		}
	}
	return roleGroup{}, false
}

// groupByID returns the group whose id is id.
func groupByID(id string) (roleGroup, bool) {
	for _, g := range groups {
		if g.ID == id {
			return g, true
		}
	}
	return roleGroup{}, false
}

// userDoc returns the record as a SCIM document without meta: the kept
// attributes with the derived ones. base prefixes the groups' $ref; ""
// leaves it out.
func userDoc(r *userRecord, base string) map[string]any {
	doc, _ := deepCopy(r.Doc).(map[string]any)
	if doc == nil {
		doc = map[string]any{}
	}
	schemas := []any{SchemaUser}
	if _, ok := doc[SchemaEnterpriseUser]; ok {
		schemas = append(schemas, SchemaEnterpriseUser)
	}
	doc["schemas"] = append(schemas, SchemaClayUser)
	doc["id"] = r.ID
	doc["active"] = r.Active
	if gs := userGroups(r.Groups, r.state()); len(gs) > 0 {
		list := make([]any, len(gs))
		for i, g := range gs {
			m := map[string]any{"value": g.ID, "display": g.Name, "type": "direct"}
			if base != "" {
				m["$ref"] = base + "/Groups/" + g.ID
			}
			list[i] = m
		}
		doc["groups"] = list
	}
	ext := map[string]any{attrPending: r.Active && r.Pending, attrEmail: r.Email}
	if r.Role != "" {
		ext[attrRole] = string(r.Role)
	}
	doc[SchemaClayUser] = ext
	return doc
}

// renderUser returns the record as a SCIM resource, base being the URL of
// /scim/v2. A user whose stored attributes have no name shows the one
// derived from its displayName or address (derivedName).
func renderUser(r *userRecord, base string) object {
	doc := userDoc(r, base)
	withName(doc, r)
	doc["meta"] = map[string]any{
		"resourceType": "User",
		"created":      r.Created.UTC().Format(timeFormat),
		"lastModified": r.LastModified.UTC().Format(timeFormat),
		"location":     base + "/Users/" + r.ID,
		"version":      r.version(),
	}
	return object(doc)
}

// groupView is a group with its members, as rendered.
type groupView struct {
	group        roleGroup
	members      []*userRecord
	created      time.Time
	lastModified time.Time
}

// version returns the group's weak ETag, which changes with its members.
func (g *groupView) version() string {
	ids := make([]string, len(g.members))
	for i, m := range g.members {
		ids[i] = m.ID
	}
	sort.Strings(ids)
	b, _ := json.Marshal(append([]string{g.group.ID}, ids...))
	return weakTag(b)
}

// memberIDs returns the ids of the group's members.
func (g *groupView) memberIDs() map[string]bool {
	out := make(map[string]bool, len(g.members))
	for _, m := range g.members {
		out[m.ID] = true
	}
	return out
}

// groupViews returns every group with its members among users: the
// active users holding its role, or put in it by the client (see
// userGroups).
func groupViews(users []*userRecord, created time.Time) []*groupView {
	out := make([]*groupView, len(groups))
	for i, g := range groups {
		out[i] = &groupView{group: g, created: created, lastModified: created}
	}
	for _, u := range users {
		for _, v := range out {
			if u.LastModified.After(v.lastModified) {
				v.lastModified = u.LastModified
			}
			if inGroup(u.Groups, u.state(), v.group) {
				v.members = append(v.members, u)
			}
		}
	}
	return out
}

// groupDoc returns the group as a SCIM document without meta.
func groupDoc(g *groupView, base string) map[string]any {
	doc := map[string]any{
		"schemas":     []any{SchemaGroup},
		"id":          g.group.ID,
		"displayName": g.group.Name,
	}
	members := make([]any, 0, len(g.members))
	for _, m := range g.members {
		e := map[string]any{"value": m.ID, "display": m.Email, "type": "User"}
		if base != "" {
			e["$ref"] = base + "/Users/" + m.ID
		}
		members = append(members, e)
	}
	doc["members"] = members
	return doc
}

// renderGroup returns the group as a SCIM resource.
func renderGroup(g *groupView, base string) object {
	doc := groupDoc(g, base)
	doc["meta"] = map[string]any{
		"resourceType": "Group",
		"created":      g.created.UTC().Format(timeFormat),
		"lastModified": g.lastModified.UTC().Format(timeFormat),
		"location":     base + "/Groups/" + g.group.ID,
		"version":      g.version(),
	}
	return object(doc)
}

// projection is the attributes and excludedAttributes of a request.
type projection struct {
	// selects is set when attributes names anything, known or not: the
	// answer then has only what include selects, and id and schemas.
	selects bool
	include []attrPath
	exclude []attrPath
}

// parseProjection parses the comma-separated lists; names that are not
// attributes of rt (a filter among them) are ignored, as they select
// nothing.
func parseProjection(rt *resourceType, attributes, excluded string) projection {
	var p projection
	split := func(s string) (out []attrPath, named bool) {
		for _, part := range strings.Split(s, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			named = true
			if ap, err := parsePath(rt, part); err == nil && ap.filter == nil {
				out = append(out, ap)
			}
		}
		return out, named
	}
	p.include, p.selects = split(attributes)
	p.exclude, _ = split(excluded)
	return p
}

// apply returns res with only the requested attributes. id and schemas
// are always kept.
func (p projection) apply(rt *resourceType, res object) object {
	if p.selects {
		out := object{"id": res["id"], "schemas": res["schemas"]}
		for _, ap := range p.include {
			copyPath(rt, out, res, ap)
		}
		res = out
	}
	for _, ap := range p.exclude {
		if ap.schema == rt.Core && ap.attr != nil && (ap.attr.Name == "id" || ap.attr.Name == "schemas") {
			continue
		}
		removePath(rt, res, ap)
	}
	return res
}

// copyPath copies the value at ap from src to dst.
func copyPath(rt *resourceType, dst, src object, ap attrPath) {
	if ap.attr == nil {
		if v, ok := src[ap.schema.ID]; ok {
			dst[ap.schema.ID] = v
		}
		return
	}
	from := container(src, ap, rt.Core, false)
	if from == nil {
		return
	}
	v, ok := from[ap.attr.Name]
	if !ok {
		return
	}
	to := container(dst, ap, rt.Core, true)
	if ap.sub == nil {
		to[ap.attr.Name] = v
		return
	}
	pick := func(e any) map[string]any {
		m, _ := e.(map[string]any)
		out := map[string]any{}
		if old, ok := to[ap.attr.Name].(map[string]any); ok && !ap.attr.MultiValued {
			out = old
		}
		if sv, ok := m[ap.sub.Name]; ok {
			out[ap.sub.Name] = sv
		}
		return out
	}
	if list, ok := v.([]any); ok {
		old, _ := to[ap.attr.Name].([]any)
		picked := make([]any, len(list))
		for i, e := range list {
			m := pick(e)
			if i < len(old) {
				if om, ok := old[i].(map[string]any); ok {
					for k, x := range m {
						om[k] = x
					}
					m = om
				}
			}
			picked[i] = m
		}
		to[ap.attr.Name] = picked
		return
	}
	to[ap.attr.Name] = pick(v)
}

// removePath removes the value at ap from res.
func removePath(rt *resourceType, res object, ap attrPath) {
	if ap.attr == nil {
		delete(res, ap.schema.ID)
		return
	}
	c := container(res, ap, rt.Core, false)
	if c == nil {
		return
	}
	if ap.sub == nil {
		delete(c, ap.attr.Name)
		return
	}
	switch v := c[ap.attr.Name].(type) {
	case map[string]any:
		delete(v, ap.sub.Name)
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				delete(m, ap.sub.Name)
			}
		}
	}
}
