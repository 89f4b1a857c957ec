package scim

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testStore(t *testing.T) *store {
	t.Helper()
	st, err := openStore(filepath.Join(t.TempDir(), "state.db"), testNow)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.close() })
	return st
}

func testUser(email string, active bool) *userRecord {
	return &userRecord{ID: UserID(email), Email: email, Doc: map[string]any{"userName": email}, Active: active, Role: roster.Editor}
}

// putTestUser stores u as it is.
func putTestUser(t *testing.T, st *store, u *userRecord) {
	t.Helper()
	require.NoError(t, st.update(func(tx *storeTx) error { return tx.saveUser(nil, u, testNow) }))
}

// addTestJob queues j and returns its number.
func addTestJob(t *testing.T, st *store, j *job) uint64 {
	t.Helper()
	j.State = jobQueued
	require.NoError(t, st.update(func(tx *storeTx) error { return tx.addJob(j) }))
	return j.Seq
}

func TestStoreUpdateWritesUserAndJobTogether(t *testing.T) {
	errAbort := errors.New("abort")
	for _, tc := range []struct {
		name string
		fail error
	}{
		{"committed", nil},
		{"rolled back", errAbort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testStore(t)
			u := testUser("nia@acme.test", false)
			err := st.update(func(tx *storeTx) error {
				if err := tx.saveUser(nil, u, testNow); err != nil {
					return err
				}
				if err := tx.addJob(&job{Op: opInvite, UserID: u.ID, Email: u.Email, State: jobQueued}); err != nil {
					return err
				}
				return tc.fail
			})
			require.ErrorIs(t, err, tc.fail)
			rec, err := st.user(u.ID)
			require.NoError(t, err)
			pending, err := st.pendingJobs()
			require.NoError(t, err)
			var latest *job
			require.NoError(t, st.update(func(tx *storeTx) (err error) { latest, err = tx.latestJob(u.ID); return err }))
			if tc.fail != nil {
				assert.Nil(t, rec, "the user is not kept")
				assert.Empty(t, pending, "the job is not queued")
				assert.Nil(t, latest)
				return
			}
			require.NotNil(t, rec)
			assert.Equal(t, testNow, rec.Created)
			require.Len(t, pending, 1)
			assert.Equal(t, opInvite, pending[0].Op)
			require.NotNil(t, latest)
			assert.Equal(t, pending[0].Seq, latest.Seq)
		})
	}
}

func TestFinishJob(t *testing.T) {
	email := "ed@acme.test"
	for _, tc := range []struct {
		name         string
		job          job
		outcome      outcome
		res          core.Result
		countRemoval bool
		wantUser     *state // nil: no record
		wantRemovals int
	}{
		{"a failure leaves the user", job{Op: opOffboard}, outcome{OK: false, Action: core.Failed}, core.Result{}, false,
			&state{Active: true, Role: roster.Editor}, 0},
		{"an offboarding makes the user inactive", job{Op: opOffboard}, outcome{OK: true, Action: core.Removed},
			core.Result{Action: core.Removed}, true, &state{Role: roster.Editor}, 1},
		{"a deleting offboarding removes the user", job{Op: opOffboard, Delete: true}, outcome{OK: true, Action: core.Removed},
			core.Result{Action: core.Removed}, false, nil, 0},
		{"a role change sets the role", job{Op: opSetRole, Role: roster.Viewer}, outcome{OK: true, Action: core.RoleChanged},
			core.Result{Action: core.RoleChanged}, false, &state{Active: true, Role: roster.Viewer}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testStore(t)
			u := testUser(email, true)
			putTestUser(t, st, u)
			j := tc.job
			j.UserID, j.Email = u.ID, email
			seq := addTestJob(t, st, &j)
			require.NoError(t, st.startJob(&j, testNow))
			assert.Equal(t, 1, j.Attempts)

			done := testNow.Add(time.Minute)
			o := tc.outcome
			require.NoError(t, st.finishJob(&j, &o, tc.res, tc.countRemoval, done))
			pending, err := st.pendingJobs()
			require.NoError(t, err)
			assert.Empty(t, pending, "the job leaves the queue")
			var stored *job
			require.NoError(t, st.update(func(tx *storeTx) (err error) { stored, err = tx.latestJob(u.ID); return err }))
			require.NotNil(t, stored)
			assert.Equal(t, seq, stored.Seq)
			assert.Equal(t, jobDone, stored.State)
			assert.Equal(t, done, stored.Finished.UTC())
			assert.Equal(t, o, *stored.Outcome)

			rec, err := st.user(u.ID)
			require.NoError(t, err)
			if tc.wantUser == nil {
				assert.Nil(t, rec)
			} else {
				require.NotNil(t, rec)
				assert.Equal(t, *tc.wantUser, rec.state())
			}
			removals, _, err := st.removalsAndDepth(testNow)
			require.NoError(t, err)
			assert.Len(t, removals, tc.wantRemovals)
		})
	}
}

func TestMarkAnsweredOnlyMarksFinishedJobs(t *testing.T) {
	st := testStore(t)
	done := &job{Op: opInvite, UserID: UserID("a@acme.test"), Email: "a@acme.test"}
	queued := &job{Op: opInvite, UserID: UserID("b@acme.test"), Email: "b@acme.test"}
	addTestJob(t, st, done)
	addTestJob(t, st, queued)
	require.NoError(t, st.finishJob(done, &outcome{OK: true, Action: core.Invited}, core.Result{Action: core.Invited}, false, testNow))

	require.NoError(t, st.markAnswered([]uint64{done.Seq, queued.Seq, 99}))
	answered := map[uint64]bool{}
	require.NoError(t, st.update(func(tx *storeTx) error {
		for _, id := range []string{done.UserID, queued.UserID} {
			j, err := tx.latestJob(id)
			if err != nil {
				return err
			}
			answered[j.Seq] = j.Answered
		}
		return nil
	}))
	assert.Equal(t, map[uint64]bool{done.Seq: true, queued.Seq: false}, answered)
}

func TestReplaceRoster(t *testing.T) {
	st := testStore(t)
	gone := testUser("gone@acme.test", true)
	hidden := testUser("hidden@acme.test", true)
	kept := testUser("kept@acme.test", true)
	for _, u := range []*userRecord{gone, hidden, kept} {
		putTestUser(t, st, u)
	}
	r := &roster.Roster{
		Members:     []roster.Member{{Email: "kept@acme.test", Name: "Kept", Role: roster.Editor}, {Email: "New@acme.test", Name: "New One", Role: roster.Admin}},
		Invitations: []roster.Invitation{{Email: "ivy@acme.test", Role: roster.Viewer}},
		Unreadable:  []roster.Unreadable{{Kind: "member", Text: "Hidden Person hidden@ac… Editor"}},
	}
	later := testNow.Add(time.Hour)
	require.NoError(t, st.replaceRoster(r, later))

	users, err := st.users()
	require.NoError(t, err)
	got := map[string]*userRecord{}
	for _, u := range users {
		got[u.Email] = u
	}
	require.Len(t, got, 5)
	assert.Equal(t, state{Role: roster.Editor}, got["gone@acme.test"].state(), "absent from the roster: inactive")
	assert.Equal(t, later, got["gone@acme.test"].LastModified.UTC())
	assert.True(t, got["hidden@acme.test"].Active, "an unreadable row could be theirs")
	assert.Equal(t, testNow, got["hidden@acme.test"].LastModified.UTC(), "unchanged")
	assert.Equal(t, "Kept", got["kept@acme.test"].Doc["displayName"])
	assert.Equal(t, state{Active: true, Role: roster.Admin}, got["new@acme.test"].state())
	assert.Equal(t, "New One", got["new@acme.test"].Doc["displayName"])
	assert.Equal(t, later, got["new@acme.test"].Created.UTC())
	assert.Equal(t, state{Active: true, Pending: true, Role: roster.Viewer}, got["ivy@acme.test"].state())
}
