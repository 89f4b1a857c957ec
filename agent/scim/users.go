package scim

import (
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// Paging limits (RFC 7644 §3.4.2.4).
const (
	defaultCount = 100
	maxCount     = 200
)

// listResponse is a page of resources (RFC 7644 §3.4.2).
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []object `json:"Resources"`
}

// paging reads startIndex (1-based; less than 1 is 1) and count (0 to
// maxCount; default defaultCount).
func paging(r *http.Request) (start, count int, e *apiError) {
	q := r.URL.Query()
	start, count = 1, defaultCount
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, 0, badRequest(typeInvalidValue, "startIndex must be an integer")
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, 0, badRequest(typeInvalidValue, "count must be an integer")
		}
		count = min(max(n, 0), maxCount)
	}
	return start, count, nil
}

// page returns the page of items from start (1-based), at most count.
func page[T any](items []T, start, count int) []T {
	if start > len(items) {
		return nil
	}
	end := min(len(items), start-1+count)
	return items[start-1 : end]
}

// userFilter parses a /Users filter. The supported ones are, with eq only:
// userName, externalId, id, emails.value (or emails) and
// emails[type eq "…"].value.
func userFilter(s string) (*filter, *apiError) {
	f, err := parseFilter(userType, s)
	if err != nil {
		return nil, badRequest(typeInvalidFilter, "%v", err)
	}
	p := f.path
	supported := p.schema == userSchema && p.filter == nil && p.sub == nil &&
		(p.attr.Name == "userName" || p.attr.Name == "externalId" || p.attr.Name == "id")
	supported = supported || (p.schema == userSchema && p.attr.Name == "emails" && p.sub != nil && p.sub.Name == "value" &&
		(p.filter == nil || p.filter.attr.Name == "type"))
	if !supported {
		return nil, badRequest(typeInvalidFilter,
			`the filter %q is not supported: use userName, externalId, id, emails.value or emails[type eq "work"].value, with eq`, s)
	}
	return &f, nil
}

// filterMatches reports whether doc passes f. Email addresses compare
// ignoring case whatever the attribute (an externalId that is an address
// too), as identity providers do not keep their case.
func filterMatches(rt *resourceType, doc map[string]any, f *filter) bool {
	target := f.path.attr
	if f.path.sub != nil {
		target = f.path.sub
	}
	for _, v := range valuesAt(doc, f.path, rt.Core) {
		if equalValue(target, v, f.value) || sameAddress(v, f.value) {
			return true
		}
	}
	return false
}

// sameAddress reports whether x and y are the same email address but for
// case.
func sameAddress(x, y any) bool {
	xs, xok := x.(string)
	ys, yok := y.(string)
	if !xok || !yok || !strings.EqualFold(xs, ys) {
		return false
	}
	_, isAddress := localPart(xs)
	return isAddress && !strings.ContainsAny(xs, " \t")
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	c := callOf(r.Context())
	var f *filter
	if r.URL.Query().Has("filter") {
		var e *apiError
		if f, e = userFilter(r.URL.Query().Get("filter")); e != nil {
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
	users, err := s.st.users()
	if err != nil {
		s.writeError(w, r, storeError(err))
		return
	}
	if f != nil {
		kept := users[:0]
		for _, u := range users {
			if filterMatches(userType, userDoc(u, ""), f) {
				kept = append(kept, u)
			}
		}
		users = kept
	}
	sort.Slice(users, func(i, j int) bool {
		if !users[i].Created.Equal(users[j].Created) {
			return users[i].Created.Before(users[j].Created)
		}
		return users[i].ID < users[j].ID
	})
	proj := parseProjection(userType, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	resp := listResponse{Schemas: []string{MessageListResponse}, TotalResults: len(users), StartIndex: start, Resources: []object{}}
	for _, u := range page(users, start, count) {
		resp.Resources = append(resp.Resources, proj.apply(userType, renderUser(u, c.base)))
	}
	resp.ItemsPerPage = len(resp.Resources)
	s.writeJSON(w, http.StatusOK, resp)
}

// loadUser reads the user id from the store.
func (s *Server) loadUser(id string) (*userRecord, *apiError) {
	rec, err := s.st.user(id)
	if err != nil {
		return nil, storeError(err)
	}
	if rec == nil {
		return nil, notFound("no user with id %q", id)
	}
	return rec, nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, id string) {
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	s.setRosterAge(w)
	rec, e := s.loadUser(id)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	if etagMatches(r.Header.Get("If-None-Match"), rec.version()) {
		w.Header().Set("ETag", rec.version())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	proj := parseProjection(userType, r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	res := renderUser(rec, callOf(r.Context()).base)
	w.Header().Set("ETag", rec.version())
	s.writeJSON(w, http.StatusOK, proj.apply(userType, res))
}

// etagMatches reports whether the If-Match or If-None-Match header h
// names version ("*" names any). Tags compare weakly: W/ is ignored.
func etagMatches(h, version string) bool {
	if strings.TrimSpace(h) == "*" {
		return true
	}
	want := strings.TrimPrefix(version, "W/")
	for _, t := range strings.Split(h, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// checkIfMatch answers 412 when the request's If-Match names another
// version.
func checkIfMatch(r *http.Request, version string) error {
	h := r.Header.Get("If-Match")
	if h == "" || etagMatches(h, version) {
		return nil
	}
	return newError(http.StatusPreconditionFailed, typeNone, "the resource changed: its version is %s, not %s", version, h)
}

// userInput is a user document from a request, split into the attributes
// kept and the state asked for.
type userInput struct {
	doc    map[string]any
	active *bool
	role   *roster.Role
}

// splitUser takes the state attributes out of a normalized document and
// drops the derived ones.
func splitUser(doc map[string]any) (userInput, *apiError) {
	in := userInput{doc: doc}
	if v, ok := doc["active"].(bool); ok {
		in.active = &v
	}
	if ext, ok := doc[SchemaClayUser].(map[string]any); ok {
		if v, ok := ext[attrRole].(string); ok {
			role, err := roster.ParseRole(v)
			if err != nil {
				return userInput{}, badRequest(typeInvalidValue, "%v", err)
			}
			in.role = &role
		}
	}
	stripDerived(doc)
	if strings.TrimSpace(docString(doc, "userName")) == "" {
		return userInput{}, badRequest(typeInvalidValue, "userName is required")
	}
	return in, nil
}

// decodeUser reads a user from a POST or PUT body.
func decodeUser(r *http.Request) (userInput, *apiError) {
	body, e := readBody(r)
	if e != nil {
		return userInput{}, e
	}
	doc, err := normalizeResource(userType, body)
	if err != nil {
		return userInput{}, inputError(err, false)
	}
	if !hasSchema(doc, SchemaUser) {
		return userInput{}, badRequest(typeInvalidSyntax, "schemas must hold %s", SchemaUser)
	}
	return splitUser(doc)
}

// clayAddress returns the address to invite for the user doc.
func (s *Server) clayAddress(doc map[string]any) (string, *apiError) {
	userName := strings.TrimSpace(docString(doc, "userName"))
	candidate, from := userName, "userName"
	if s.cfg.EmailFrom == EmailWork {
		emails, _ := doc["emails"].([]any)
		pick := func(ok func(m map[string]any) bool) string {
			for _, e := range emails {
				if m, _ := e.(map[string]any); m != nil && ok(m) {
					if v := strings.TrimSpace(docString(m, "value")); v != "" {
						return v
					}
				}
			}
			return ""
		}
		work := func(m map[string]any) bool { return strings.EqualFold(docString(m, "type"), "work") }
		primary := func(m map[string]any) bool { return m["primary"] == true }
		for _, try := range []struct {
			ok   func(map[string]any) bool
			from string
		}{
			{func(m map[string]any) bool { return work(m) && primary(m) }, "the primary work email"},
			{primary, "the primary email"},
			{work, "the work email"},
		} {
			if v := pick(try.ok); v != "" {
				candidate, from = v, try.from
				break
			}
		}
	}
	email, err := roster.ParseEmail(candidate)
	if err != nil {
		return "", badRequest(typeInvalidValue, "no address to invite: %s: %v", from, err)
	}
	return email, nil
}

// userNameTaken returns the id of another user whose userName is
// userName, or "".
func userNameTaken(tx *storeTx, userName, id string) (string, error) {
	users, err := tx.users()
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if u.ID != id && strings.EqualFold(strings.TrimSpace(docString(u.Doc, "userName")), strings.TrimSpace(userName)) {
			return u.ID, nil
		}
	}
	return "", nil
}

// createMode is how a POST was answered.
type createMode int

const (
	createNew      createMode = iota // a new or reactivated user, 201
	createExisting                   // ConflictReturnExisting, 200
)

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	c := callOf(r.Context())
	in, e := decodeUser(r)
	if e == nil {
		e = s.applyAppRole(&in)
	}
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	email, e := s.clayAddress(in.doc)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	id := UserID(email)
	mode := createNew
	ws, added, err := s.txn(c.req, func(q *queuer) (err error) {
		mode, err = s.create(q, id, email, in)
		return err
	})
	defer func() { c.noteJobs(ws, added) }()
	if err != nil {
		s.writeError(w, r, storeError(err))
		return
	}
	if e := s.await(r.Context(), ws); e != nil {
		s.writeError(w, r, e)
		return
	}
	rec, e := s.loadUser(id)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	res := renderUser(rec, c.base)
	status := http.StatusCreated
	if mode == createExisting {
		status = http.StatusOK
	}
	s.writeResource(w, status, res, c.base+"/Users/"+id)
}

// create is the transaction of a POST for the user id, to be invited at
// email: it joins an invitation still pending, answers a repeat of a POST
// answered 503, returns an existing user (or a conflict), or keeps the
// user and queues the invitation.
func (s *Server) create(q *queuer, id, email string, in userInput) (createMode, error) {
	rec, err := q.tx.user(id)
	if err != nil {
		return createNew, err
	}
	pending, err := q.pendingFor(id)
	if err != nil {
		return createNew, err
	}
	if n := len(pending); n > 0 && pending[n-1].Op == opInvite {
		q.wait(pending[n-1]) // a repeat of a POST still being served
		return createNew, nil
	}
	if len(pending) == 0 && rec != nil && rec.Active {
		// a repeat of a POST answered 503: its answer now, once
		repeat, err := q.answerRepeat(id, func(j *job) bool { return j.Op == opInvite })
		if err != nil || repeat {
			return createNew, err
		}
	}
	if effective(rec, pending).Active {
		return createExisting, s.keepExisting(q, rec, id, email, in)
	}
	return createNew, s.createNew(q, rec, id, email, in)
}

// keepExisting answers a POST for a user who is or will be active: a
// conflict, or (ConflictReturnExisting) the user, whose attributes become
// the posted ones.
func (s *Server) keepExisting(q *queuer, rec *userRecord, id, email string, in userInput) error {
	if s.cfg.Existing == ConflictError || rec == nil {
		return newError(http.StatusConflict, typeUniqueness, "%s is already a member or invited (id %s)", email, id)
	}
	if ext := docString(rec.Doc, "externalId"); ext != "" && ext != docString(in.doc, "externalId") {
		return newError(http.StatusConflict, typeUniqueness, "%s is already provisioned with another externalId (id %s)", email, id)
	}
	next := rec.clone()
	next.Doc = in.doc
	return q.tx.saveUser(rec, next, q.now)
}

// createNew keeps a new or inactive user with the posted attributes and,
// unless the POST asks for an inactive user, queues the invitation.
func (s *Server) createNew(q *queuer, rec *userRecord, id, email string, in userInput) error {
	if other, err := userNameTaken(q.tx, docString(in.doc, "userName"), id); err != nil || other != "" {
		if err != nil {
			return err
		}
		return newError(http.StatusConflict, typeUniqueness, "userName %q is taken by the user %s", docString(in.doc, "userName"), other)
	}
	role := s.cfg.DefaultRole
	if in.role != nil {
		role = *in.role
	}
	next := &userRecord{ID: id, Email: email}
	if rec != nil {
		next = rec.clone()
	}
	next.Doc = in.doc
	if in.role != nil {
		next.Role = role
	}
	if err := q.tx.saveUser(rec, next, q.now); err != nil {
		return err
	}
	if in.active != nil && !*in.active {
		return nil
	}
	return q.enqueue(&job{Op: opInvite, UserID: id, Email: email, Role: role})
}

// plan returns the job that takes a user from the state eff to the one
// asked for: offboard when active turns false, invite when it turns true,
// set-role when the role of an active user changes. A role asked for an
// inactive user is kept for the next invitation.
func (s *Server) plan(q *queuer, rec, next *userRecord, eff state, in userInput) (*job, error) {
	switch {
	case in.active != nil && !*in.active && eff.Active:
		if e := q.allowRemoval(); e != nil {
			return nil, e
		}
		return &job{Op: opOffboard, UserID: rec.ID, Email: rec.Email}, nil
	case in.active != nil && *in.active && !eff.Active:
		role := s.cfg.DefaultRole
		if in.role != nil {
			role = *in.role
		} else if r, err := roster.ParseRole(string(eff.Role)); err == nil {
			role = r
		}
		return &job{Op: opInvite, UserID: rec.ID, Email: rec.Email, Role: role}, nil
	case in.role != nil && eff.Active && *in.role != eff.Role:
		return s.roleJob(rec, eff, *in.role), nil
	case in.role != nil && !eff.Active:
		next.Role = *in.role
	}
	return nil, nil
}

// update applies a PUT or PATCH: fn returns the request's input from the
// user's current record; the attributes are kept at once, and the state
// change is queued.
func (s *Server) update(w http.ResponseWriter, r *http.Request, id string, fn func(rec *userRecord) (userInput, *apiError)) {
	c := callOf(r.Context())
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	ws, added, err := s.txn(c.req, func(q *queuer) error { return s.change(q, r, id, fn) })
	defer func() { c.noteJobs(ws, added) }()
	if err != nil {
		s.writeError(w, r, storeError(err))
		return
	}
	if e := s.await(r.Context(), ws); e != nil {
		s.writeError(w, r, e)
		return
	}
	rec, e := s.loadUser(id)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	s.writeResource(w, http.StatusOK, renderUser(rec, c.base), "")
}

// change is the transaction of a PUT or PATCH of the user id (see
// update).
func (s *Server) change(q *queuer, r *http.Request, id string, fn func(rec *userRecord) (userInput, *apiError)) error {
	rec, err := q.tx.user(id)
	if err != nil {
		return err
	}
	if rec == nil {
		return notFound("no user with id %q", id)
	}
	if err := checkIfMatch(r, rec.version()); err != nil {
		return err
	}
	in, e := fn(rec)
	if e != nil {
		return e
	}
	pending, err := q.pendingFor(id)
	if err != nil {
		return err
	}
	next := rec.clone()
	next.Doc = in.doc
	if err := checkUserName(q.tx, id, docString(rec.Doc, "userName"), docString(in.doc, "userName")); err != nil {
		return err
	}
	j, err := s.plan(q, rec, next, effective(rec, pending), in)
	if err != nil {
		return err
	}
	if next.version() != rec.version() {
		if err := q.tx.saveUser(rec, next, q.now); err != nil {
			return err
		}
	}
	if j == nil {
		q.waitPending(pending)
		return nil
	}
	return q.enqueue(j)
}

// checkUserName answers a conflict when userName, the new one of the
// user id (whose userName was old), is another user's.
func checkUserName(tx *storeTx, id, old, userName string) error {
	if strings.EqualFold(userName, old) {
		return nil
	}
	other, err := userNameTaken(tx, userName, id)
	if err != nil {
		return err
	}
	if other != "" {
		return newError(http.StatusConflict, typeUniqueness, "userName %q is taken by the user %s", userName, other)
	}
	return nil
}

func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request, id string) {
	in, e := decodeUser(r)
	if e == nil {
		e = s.applyAppRole(&in)
	}
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	s.update(w, r, id, func(*userRecord) (userInput, *apiError) { return in, nil })
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, id string) {
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
	s.update(w, r, id, func(rec *userRecord) (userInput, *apiError) {
		before := userDoc(rec, "")
		delete(before, "schemas")
		delete(before, "groups")
		// the name shown is the one patched: a part changed keeps the
		// others; a name no operation names stays derived, not kept
		derived := withName(before, rec)
		p := newPatcher(userType, deepCopy(before).(map[string]any))
		for _, op := range ops {
			if e := p.apply(op); e != nil {
				return userInput{}, e
			}
		}
		after := p.doc
		if derived && !p.touched["name"] {
			delete(after, "name")
		}
		for _, k := range []string{"id", "meta", "groups"} {
			if !reflect.DeepEqual(before[k], after[k]) {
				return userInput{}, badRequest(typeMutability, "%s is read-only", k)
			}
		}
		extBefore, _ := before[SchemaClayUser].(map[string]any)
		extAfter, _ := after[SchemaClayUser].(map[string]any)
		for _, k := range []string{attrPending, attrEmail} {
			if !reflect.DeepEqual(extBefore[k], extAfter[k]) {
				return userInput{}, badRequest(typeMutability, "%s:%s is read-only", SchemaClayUser, k)
			}
		}
		if e := checkStateRemoved(p, before, after, extBefore, extAfter); e != nil {
			return userInput{}, e
		}
		in, e := splitUser(after)
		if e != nil {
			return userInput{}, e
		}
		if !p.touched["active"] {
			in.active = nil
		}
		if !p.touched[SchemaClayUser] && !p.touched[SchemaClayUser+":"+attrRole] {
			in.role = nil
		}
		if p.touched["roles"] {
			if e := s.applyAppRole(&in); e != nil {
				return userInput{}, e
			}
		}
		return in, nil
	})
}

// checkStateRemoved refuses a PATCH that removes active or the Clay role
// (remove, or a null value): they are the user's state in Clay, which is
// changed by a value, never by its absence.
func checkStateRemoved(p *patcher, before, after, extBefore, extAfter map[string]any) *apiError {
	if _, was := before["active"]; was && p.touched["active"] {
		if _, is := after["active"]; !is {
			return badRequest(typeMutability, "active cannot be removed: replace it with false to deactivate the user, or DELETE the user")
		}
	}
	touched := p.touched[SchemaClayUser] || p.touched[SchemaClayUser+":"+attrRole]
	if _, was := extBefore[attrRole]; was && touched {
		if _, is := extAfter[attrRole]; !is {
			return badRequest(typeMutability, "%s:%s cannot be removed: replace it with another role, or change the user's group", SchemaClayUser, attrRole)
		}
	}
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, id string) {
	c := callOf(r.Context())
	if e := s.ensureFresh(r.Context()); e != nil {
		s.writeError(w, r, e)
		return
	}
	ws, added, err := s.txn(c.req, func(q *queuer) error { return s.remove(q, r, id) })
	defer func() { c.noteJobs(ws, added) }()
	if err != nil {
		s.writeError(w, r, storeError(err))
		return
	}
	if e := s.await(r.Context(), ws); e != nil {
		s.writeError(w, r, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// remove is the transaction of a DELETE of the user id: an inactive user
// with nothing pending goes at once; else an offboarding that deletes the
// user once done is queued.
func (s *Server) remove(q *queuer, r *http.Request, id string) error {
	rec, err := q.tx.user(id)
	if err != nil {
		return err
	}
	if rec == nil {
		// a repeat of a DELETE answered 503: its answer now, once
		repeat, err := q.answerRepeat(id, func(j *job) bool { return j.Op == opOffboard && j.Delete })
		if err != nil || repeat {
			return err
		}
		return notFound("no user with id %q", id)
	}
	if err := checkIfMatch(r, rec.version()); err != nil {
		return err
	}
	pending, err := q.pendingFor(id)
	if err != nil {
		return err
	}
	eff := effective(rec, pending)
	if !eff.Active && len(pending) == 0 {
		return q.tx.deleteUser(id)
	}
	if eff.Active {
		if e := q.allowRemoval(); e != nil {
			return e
		}
	}
	return q.enqueue(&job{Op: opOffboard, UserID: id, Email: rec.Email, Delete: true})
}
