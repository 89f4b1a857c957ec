package scim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// refreshRound is one roster read that requests wait for.
type refreshRound struct {
	urgent bool
	done   chan struct{}
	err    error
}

// askRefresh asks the worker for a roster read: urgent when a request
// waits for it (it then goes before queued actions). Callers hold s.mu.
func (s *Server) askRefresh(urgent bool) *refreshRound {
	if s.round == nil {
		s.round = &refreshRound{done: make(chan struct{})}
	}
	s.round.urgent = s.round.urgent || urgent
	return s.round
}

// warmRoster asks for a roster read when the kept roster is MaxRosterAge
// old.
func (s *Server) warmRoster() {
	s.mu.Lock()
	if s.now().Sub(s.rosterAt) >= s.cfg.MaxRosterAge {
		s.askRefresh(false)
	}
	s.mu.Unlock()
}

// rosterRetry is how long a failed roster read answers reads before one
// is tried again.
const rosterRetry = 10 * time.Second

// ensureFresh makes sure there is a kept roster to answer from. A roster
// older than MaxRosterAge is read again through the worker, in the
// background: the request is answered from the kept one at once, so that
// reads never wait for the browser (the worker also reads the roster again
// on its own whenever it is idle and the roster is that old). After a
// restart the roster the store kept is the kept one; only the first read
// of a first start, with no roster yet, waits for one.
func (s *Server) ensureFresh(ctx context.Context) *apiError {
	s.mu.Lock()
	now := s.now()
	if !s.rosterAt.IsZero() {
		// a failed read is not tried again before rosterRetry
		failing := s.rosterErr != nil && now.Sub(s.rosterErrAt) < rosterRetry
		if now.Sub(s.rosterAt) > s.cfg.MaxRosterAge && !failing {
			s.askRefresh(false)
			s.mu.Unlock()
			s.wakeWorker()
			return nil
		}
		s.mu.Unlock()
		return nil
	}
	if s.rosterErr != nil && now.Sub(s.rosterErrAt) < rosterRetry {
		err := s.rosterErr
		s.mu.Unlock()
		return failure("read the Clay roster", err)
	}
	r := s.askRefresh(true)
	s.mu.Unlock()
	s.wakeWorker()
	return s.awaitRoster(ctx, r)
}

// RosterAgeHeader is set on the answers to reads: how old, in whole
// seconds, the kept roster they were answered from is. After a restart
// reads are answered at once from the roster the store kept, while the
// worker reads it again.
const RosterAgeHeader = "X-Roster-Age"

// setRosterAge sets RosterAgeHeader on w.
func (s *Server) setRosterAge(w http.ResponseWriter) {
	s.mu.Lock()
	at := s.rosterAt
	s.mu.Unlock()
	if at.IsZero() {
		return
	}
	w.Header().Set(RosterAgeHeader, strconv.FormatInt(int64(max(0, s.now().Sub(at))/time.Second), 10))
}

// awaitRoster waits for the roster read r, at most MutationWait.
func (s *Server) awaitRoster(ctx context.Context, r *refreshRound) *apiError {
	timer := time.NewTimer(callOf(ctx).wait(s.cfg.MutationWait))
	defer timer.Stop()
	select {
	case <-r.done:
		if r.err != nil {
			return failure("read the Clay roster", r.err)
		}
		return nil
	case <-timer.C:
	case <-ctx.Done():
	case <-s.closed:
		return errShuttingDown()
	}
	return busy(s.cfg.MutationWait, "reading the Clay roster takes longer than %s; it goes on", s.cfg.MutationWait)
}

// refresh reads the roster and brings the users in the store in line
// with it. Only a store failure is returned.
func (s *Server) refresh(ctx context.Context) error {
	s.mu.Lock()
	r := s.round
	s.round = nil
	s.busyOp, s.busyWhat, s.busySince = "read the Clay roster", "read the Clay roster", s.now()
	s.mu.Unlock()

	start := time.Now()
	ro, err := s.readRoster(ctx)
	s.metrics.action.WithLabelValues(actionRoster).Observe(time.Since(start).Seconds())
	var storeErr error
	if err == nil && ro == nil {
		err = fmt.Errorf("%w: no roster", errUnexpected)
	}
	at := s.now()
	if err == nil {
		storeErr = s.st.replaceRoster(ro, at)
		err = storeErr
	}
	s.endRefresh(r, at, err)
	if err != nil {
		s.log.Warn("reading the Clay roster failed", zap.Error(err))
	} else {
		s.log.Debug("read the Clay roster", zap.Int("members", len(ro.Members)), zap.Int("invitations", len(ro.Invitations)))
	}
	return storeErr
}

// endRefresh records how a roster read that ended at ended went and
// answers the requests waiting for the round r (nil: none).
func (s *Server) endRefresh(r *refreshRound, ended time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busyOp, s.busyWhat, s.busySince = "", "", time.Time{}
	if err != nil {
		s.rosterErr, s.rosterErrAt = err, ended
	} else {
		s.rosterAt, s.rosterErr = ended, nil
	}
	if r != nil {
		r.err = err
		close(r.done)
	}
}

// readRoster calls the backend for the roster; a panic is a failed read.
func (s *Server) readRoster(ctx context.Context) (ro *roster.Roster, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("backend panic", zap.String("op", actionRoster), zap.Any("panic", p))
			ro, err = nil, fmt.Errorf("%w: %v", errBackendPanic, p)
		}
	}()
	return s.cfg.Backend.Roster(ctx)
}

// userChange is a user's record before (nil: a new user) and after a
// change.
type userChange struct {
	old, next *userRecord
}

// rosterView is who a roster shows, by user id.
type rosterView struct {
	states map[string]state
	emails map[string]string
	names  map[string]string
}

// viewRoster reads who r shows: every member and invitation is an active
// user.
func viewRoster(r *roster.Roster) rosterView {
	v := rosterView{states: map[string]state{}, emails: map[string]string{}, names: map[string]string{}}
	for _, i := range r.Invitations {
		email := roster.NormalizeEmail(i.Email)
		id := UserID(email)
		v.states[id], v.emails[id] = state{Active: true, Pending: true, Role: i.Role}, email
	}
	for _, m := range r.Members {
		email := roster.NormalizeEmail(m.Email)
		id := UserID(email)
		v.states[id], v.emails[id], v.names[id] = state{Active: true, Role: m.Role}, email, m.Name
	}
	return v
}

// rosterChanges returns the changes that bring users in line with the
// roster r: every member and invitation is an active user (created when
// new); a user who is in neither is inactive, unless an unreadable row of
// the page could be theirs. Users left as they are have no change.
func rosterChanges(users []*userRecord, r *roster.Roster) []userChange {
	v := viewRoster(r)
	var out []userChange
	known := make(map[string]bool, len(users))
	for _, u := range users {
		known[u.ID] = true
		next := u.clone()
		if st, ok := v.states[u.ID]; ok {
			next.Active, next.Pending, next.Role = st.Active, st.Pending, st.Role
			if _, has := next.Doc["displayName"]; !has && v.names[u.ID] != "" {
				next.Doc["displayName"] = v.names[u.ID]
			}
		} else if len(r.UnreadableFor("member", u.Email)) == 0 && len(r.UnreadableFor("invitation", u.Email)) == 0 {
			next.Active, next.Pending = false, false
		}
		if next.version() != u.version() {
			out = append(out, userChange{old: u, next: next})
		}
	}
	for _, id := range sortedKeys(v.states) {
		if !known[id] {
			out = append(out, userChange{next: v.newUser(id)})
		}
	}
	return out
}

// newUser returns the record of the user id the roster shows and the
// store does not hold.
func (v rosterView) newUser(id string) *userRecord {
	st, email := v.states[id], v.emails[id]
	doc := map[string]any{
		"userName": email,
		"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
	}
	if v.names[id] != "" {
		doc["displayName"] = v.names[id]
	}
	return &userRecord{ID: id, Email: email, Doc: doc, Active: true, Pending: st.Pending, Role: st.Role}
}
