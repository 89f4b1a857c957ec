package scim

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// groupFilter parses a /Groups filter: displayName, id or externalId,
// with eq.
func groupFilter(s string) (*filter, *apiError) {
	f, err := parseFilter(groupType, s)
	if err != nil {
		return nil, badRequest(typeInvalidFilter, "%v", err)
	}
	p := f.path
	if p.filter != nil || p.sub != nil || (p.attr.Name != "displayName" && p.attr.Name != "id" && p.attr.Name != "externalId") {
		return nil, badRequest(typeInvalidFilter, "the filter %q is not supported: use displayName or id, with eq", s)
	}
	return &f, nil
}

// loadGroups reads the users and returns the groups.
func (s *Server) loadGroups() ([]*groupView, *apiError) {
	users, err := s.st.users()
	if err != nil {
		return nil, storeError(err)
	}
	return groupViews(users, s.st.created), nil
}

func findGroup(views []*groupView, id string) *groupView {
	for _, v := range views {
		if v.group.ID == id {
			return v
		}
	}
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	c := callOf(r.Context())
	var f *filter
	if r.URL.Query().Has("filter") {
		var e *apiError
		if f, e = groupFilter(r.URL.Query().Get("filter")); e != nil {
			s.writeError(w, r, e)
			return
		}
	}
	start, count, e := paging(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	s.setRosterAge(w)
	views, e := s.loadGroups()
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	if f != nil {
		kept := views[:0]
		for _, v := range views {
			if filterMatches(groupType, groupDoc(v, ""), f) {
				kept = append(kept, v)
			}
		}
		views = kept
	}
	proj := parseProjection(groupType, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	resp := listResponse{Schemas: []string{MessageListResponse}, TotalResults: len(views), StartIndex: start, Resources: []object{}}
	for _, v := range page(views, start, count) {
		resp.Resources = append(resp.Resources, proj.apply(groupType, renderGroup(v, c.base)))
	}
	resp.ItemsPerPage = len(resp.Resources)
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, id string) {
	if _, ok := groupByID(id); !ok {
		s.writeError(w, r, notFound("no group with id %q", id))
		return
	}
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	s.setRosterAge(w)
	views, e := s.loadGroups()
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	v := findGroup(views, id)
	if etagMatches(r.Header.Get("If-None-Match"), v.version()) {
		w.Header().Set("ETag", v.version())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	proj := parseProjection(groupType, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	w.Header().Set("ETag", v.version())
	s.writeJSON(w, http.StatusOK, proj.apply(groupType, renderGroup(v, callOf(r.Context()).base)))
}

// groupNames lists the fixed groups' names, for error details.
func groupNames() string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = fmt.Sprintf("%q", g.Name)
	}
	return strings.Join(names, ", ")
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	body, e := readBody(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	doc, err := normalizeResource(groupType, body)
	if err != nil {
		s.writeError(w, r, inputError(err, false))
		return
	}
	name := strings.TrimSpace(docString(doc, "displayName"))
	for _, g := range groups {
		if !strings.EqualFold(name, g.Name) {
			continue
		}
		if s.cfg.Existing == ConflictReturnExisting {
			s.getGroup(w, r, g.ID)
			return
		}
		s.writeError(w, r, newError(http.StatusConflict, typeUniqueness,
			"the group %q exists (id %s); the groups are fixed, one per Clay role", g.Name, g.ID))
		return
	}
	s.writeError(w, r, badRequest(typeMutability, "groups cannot be created: they are fixed, one per Clay role: %s", groupNames()))
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, id string) {
	if _, ok := groupByID(id); !ok {
		s.writeError(w, r, notFound("no group with id %q", id))
		return
	}
	s.writeError(w, r, badRequest(typeMutability, "groups cannot be deleted: they are fixed, one per Clay role: %s", groupNames()))
}

func (s *Server) replaceGroup(w http.ResponseWriter, r *http.Request, id string) {
	body, e := readBody(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	doc, err := normalizeResource(groupType, body)
	if err != nil {
		s.writeError(w, r, inputError(err, false))
		return
	}
	if !hasSchema(doc, SchemaGroup) {
		s.writeError(w, r, badRequest(typeInvalidSyntax, "schemas must hold %s", SchemaGroup))
		return
	}
	if docString(doc, "displayName") == "" {
		s.writeError(w, r, badRequest(typeInvalidValue, "displayName is required"))
		return
	}
	// Read-only attributes of a replacement are ignored (RFC 7644 §3.5.1).
	delete(doc, "id")
	delete(doc, "meta")
	s.updateGroup(w, r, id, http.StatusOK, func(g *groupView, _ map[string]any) (map[string]any, *apiError) {
		return doc, nil
	})
}

func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request, id string) {
	body, e := readBody(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	ops, e := decodePatch(body)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	s.updateGroup(w, r, id, http.StatusNoContent, func(g *groupView, current map[string]any) (map[string]any, *apiError) {
		p := newPatcher(groupType, current)
		for _, op := range ops {
			if e := p.apply(op); e != nil {
				return nil, e
			}
		}
		return p.doc, nil
	})
}

// updateGroup changes a group's members to the ones of the document fn
// returns from the current one: a user added gets the group's role, a
// user removed gets the default role (unless the default is the group's
// own role, or the user already holds another). It answers status: 200
// with the group, or 204.
func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request, id string, status int,
	fn func(g *groupView, current map[string]any) (map[string]any, *apiError),
) {
	c := callOf(r.Context())
	g, ok := groupByID(id)
	if !ok {
		s.writeError(w, r, notFound("no group with id %q", id))
		return
	}
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	ws, added, err := s.txn(c.req, func(q *queuer) error { return s.regroup(q, r, g, fn) })
	defer func() { c.noteJobs(ws, added) }()
	if err != nil {
		s.writeError(w, r, storeError(err))
		return
	}
	if e := s.await(r.Context(), ws); e != nil {
		s.writeError(w, r, e)
		return
	}
	views, e := s.loadGroups()
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	v := findGroup(views, id)
	if status == http.StatusNoContent {
		w.Header().Set("ETag", v.version())
		w.WriteHeader(status)
		return
	}
	s.writeResource(w, status, renderGroup(v, c.base), "")
}

// membership is a group's membership as it will be once the queued
// actions are done.
type membership struct {
	current *groupView
	effs    map[string]state
	byID    map[string]*userRecord
}

// regroup is the transaction of a PUT or PATCH of the group g (see
// updateGroup).
func (s *Server) regroup(q *queuer, r *http.Request, g roleGroup,
	fn func(g *groupView, current map[string]any) (map[string]any, *apiError),
) error {
	m, err := s.membershipOf(q, r, g)
	if err != nil {
		return err
	}
	before := groupDoc(m.current, "")
	after, e := fn(m.current, deepCopy(before).(map[string]any))
	if e != nil {
		return e
	}
	if err := checkGroupDoc(g, before, after); err != nil {
		return err
	}
	want, err := m.wanted(after)
	if err != nil {
		return err
	}
	current := m.current.memberIDs()
	for _, mid := range sortedKeys(want) {
		if current[mid] {
			// no change; the answer still waits for the user's pending actions
			pending, err := q.pendingFor(mid)
			if err != nil {
				return err
			}
			q.waitPending(pending)
			continue
		}
		if err := s.regroupUser(q, m.byID[mid], m.effs[mid], g, true); err != nil {
			return err
		}
	}
	for _, u := range m.current.members {
		if want[u.ID] {
			continue
		}
		if err := s.regroupUser(q, u, m.effs[u.ID], g, false); err != nil {
			return err
		}
	}
	return nil
}

// regroupUser puts the user u (in the state eff once the pending actions
// are done) in the group g (add) or takes it out, keeps the groups the
// client put it in, and queues the role they call for: the most
// privileged of the groups' roles, or the default role when it is in
// none. A user in more than one role group is noted, to be logged.
func (s *Server) regroupUser(q *queuer, u *userRecord, eff state, g roleGroup, add bool) error {
	ids := slices.DeleteFunc(heldGroupIDs(u.Groups, eff), func(id string) bool { return id == g.ID })
	if add {
		ids = sortByPrivilege(append(ids, g.ID))
	}
	role := mostPrivileged(ids)
	if role == "" {
		role = s.cfg.DefaultRole
	}
	if len(ids) > 1 {
		q.conflicts = append(q.conflicts, roleConflict{email: u.Email, groups: ids, role: role})
	}
	next := u.clone()
	next.Groups = ids
	if len(ids) == 0 {
		next.Groups = nil
	}
	if next.version() != u.version() {
		if err := q.tx.saveUser(u, next, q.now); err != nil {
			return err
		}
	}
	return s.setRole(q, u, eff, role)
}

// membershipOf reads the membership of g, once the request's If-Match
// holds for the group as stored.
func (s *Server) membershipOf(q *queuer, r *http.Request, g roleGroup) (*membership, error) {
	users, err := q.tx.users()
	if err != nil {
		return nil, err
	}
	stored := findGroup(groupViews(users, s.st.created), g.ID)
	if err := checkIfMatch(r, stored.version()); err != nil {
		return nil, err
	}
	m := &membership{
		current: &groupView{group: g},
		effs:    make(map[string]state, len(users)),
		byID:    make(map[string]*userRecord, len(users)),
	}
	for _, u := range users {
		pending, err := q.pendingFor(u.ID)
		if err != nil {
			return nil, err
		}
		m.effs[u.ID], m.byID[u.ID] = effective(u, pending), u
		if inGroup(u.Groups, m.effs[u.ID], g) {
			m.current.members = append(m.current.members, u)
		}
	}
	return m, nil
}

// checkGroupDoc refuses changes to the read-only attributes of the group
// g: after is the document asked for, before the current one. A new
// displayName is not refused but ignored: the group keeps the role's name
// (Okta renames the groups it pushes, with or without members, and RFC
// 7644 §3.5.1 ignores read-only values in a PUT).
func checkGroupDoc(g roleGroup, before, after map[string]any) error {
	if v, ok := after["id"]; ok && v != g.ID {
		return badRequest(typeMutability, "id is read-only")
	}
	if _, ok := after["meta"]; ok && !reflect.DeepEqual(before["meta"], after["meta"]) {
		return badRequest(typeMutability, "meta is read-only")
	}
	return nil
}

// wanted returns the ids of the members of the document after, each an
// active user.
func (m *membership) wanted(after map[string]any) (map[string]bool, error) {
	want := map[string]bool{}
	members, _ := after["members"].([]any)
	for _, mb := range members {
		mid, _ := mb.(map[string]any)["value"].(string)
		if mid == "" {
			return nil, badRequest(typeInvalidValue, "a member has no value (the user's id)")
		}
		u := m.byID[mid]
		if u == nil {
			return nil, badRequest(typeInvalidValue, "no user with id %q", mid)
		}
		if !m.effs[mid].Active {
			return nil, badRequest(typeInvalidValue, "the user %s (%s) is not active: activate it before giving it a role", mid, u.Email)
		}
		want[mid] = true
	}
	return want, nil
}

// setRole queues role for u, in the state eff once its pending actions
// are done, unless u will already have it; a request that needs no
// action still waits for the user's pending ones.
func (s *Server) setRole(q *queuer, u *userRecord, eff state, role roster.Role) error {
	pending, err := q.pendingFor(u.ID)
	if err != nil {
		return err
	}
	if eff.Role == role {
		q.waitPending(pending)
		return nil
	}
	return q.enqueue(s.roleJob(u, eff, role))
}

// roleJob returns the job that gives u, in the state eff, the role: a
// member's role is set in place; a pending invitation's cannot be, so it
// is revoked and sent again with the role (a reinvite job).
func (s *Server) roleJob(u *userRecord, eff state, role roster.Role) *job {
	if !eff.Pending {
		return &job{Op: opSetRole, UserID: u.ID, Email: u.Email, Role: role}
	}
	old := eff.Role
	if old == "" {
		old = s.cfg.DefaultRole
	}
	return &job{Op: opReinvite, UserID: u.ID, Email: u.Email, Role: role, OldRole: old, Step: stepRevoke}
}

// privilege lists the roles from the most privileged down: a user the
// client put in several role groups gets the first of their roles.
var privilege = []roster.Role{roster.Admin, roster.Editor, roster.Viewer, roster.SalesRep}

// mostPrivileged returns the most privileged role of the groups ids, or
// "" for none.
func mostPrivileged(ids []string) roster.Role {
	for _, r := range privilege {
		if g, ok := groupOf(r); ok && slices.Contains(ids, g.ID) {
			return r
		}
	}
	return ""
}

// sortByPrivilege sorts the group ids from the most privileged role down
// and drops repeats and unknown ids.
func sortByPrivilege(ids []string) []string {
	var out []string
	for _, r := range privilege {
		if g, ok := groupOf(r); ok && slices.Contains(ids, g.ID) {
			out = append(out, g.ID)
		}
	}
	return out
}

// heldGroupIDs returns the groups the client put the user in (ids, the
// record's Groups) while they still hold for the user in the state st:
// the user is active and its role is the most privileged of theirs. Once
// the role is another (changed on the page, through the role attribute,
// or a change that failed), they do not, and the user is in the group of
// its role alone: heldGroupIDs returns nil.
func heldGroupIDs(ids []string, st state) []string {
	if !st.Active || len(ids) == 0 || mostPrivileged(ids) != st.Role {
		return nil
	}
	return sortByPrivilege(ids)
}

// userGroups returns the groups the user is in: the ones the client put
// it in while they hold (heldGroupIDs), else the group of its role; none
// when it is inactive.
func userGroups(ids []string, st state) []roleGroup {
	if !st.Active {
		return nil
	}
	var out []roleGroup
	for _, id := range heldGroupIDs(ids, st) {
		g, _ := groupByID(id)
		out = append(out, g)
	}
	if len(out) == 0 {
		if g, ok := groupOf(st.Role); ok {
			out = append(out, g)
		}
	}
	return out
}

// inGroup reports whether the user with the groups ids and the state st
// is in the group g.
func inGroup(ids []string, st state, g roleGroup) bool {
	return slices.ContainsFunc(userGroups(ids, st), func(h roleGroup) bool { return h.ID == g.ID })
}

// roleConflict is a user in more than one role group, and the role it
// gets.
type roleConflict struct {
	email  string
	groups []string
	role   roster.Role
}
