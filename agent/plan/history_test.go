package plan

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/core"
)

// writeLog writes an approval of digest and an apply's records to a log at
// path, keyed with key when it is not nil.
func writeLog(t *testing.T, path string, key []byte, digest string) {
	t.Helper()
	opts := []audit.Option{audit.WithWorkspace("1234"), audit.WithActor("carol"), audit.WithPlan(digest, "Carol")}
	if key != nil {
		opts = append(opts, audit.WithKey(key))
	}
	l, err := audit.Open(path, opts...)
	require.NoError(t, err)
	defer l.Close()
	_, err = l.Append(audit.Record{Command: "approve", Outcome: audit.OutcomeApproved})
	require.NoError(t, err)
	for _, r := range []audit.Record{
		{Command: "apply", Target: "john.smith@acme.test", Outcome: "removed"},
		{Command: "apply", Target: "pending.one@acme.test", Outcome: "failed"},
		{Command: "apply --dry-run", Target: "pending.one@acme.test", Outcome: "would-revoke-invitation"},
		{Command: "apply", Target: "other@acme.test", Outcome: "removed", Plan: "another-plan"},
	} {
		_, err := l.Append(r)
		require.NoError(t, err)
	}
}

func TestReadHistory(t *testing.T) {
	const digest = "d1gest"
	key := bytes.Repeat([]byte("k"), audit.MinKeyLen)
	now := time.Now()

	t.Run("keyed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		writeLog(t, path, key, digest)
		h, err := ReadHistory(path, key, digest)
		require.NoError(t, err)
		assert.Equal(t, []string{"john.smith@acme.test"}, doneEmails(h), "only what an apply of this plan completed")
		ap, err := h.KeyedApproval("1234", now)
		require.NoError(t, err)
		assert.Equal(t, "Carol", ap.By)
		_, err = h.KeyedApproval("999", now)
		assert.ErrorIs(t, err, ErrNotApproved, "an approval for another workspace")
		_, err = h.KeyedApproval("1234", now.Add(-time.Hour))
		assert.ErrorIs(t, err, ErrNotApproved, "an approval later than now")
	})
	t.Run("no key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		writeLog(t, path, nil, digest)
		h, err := ReadHistory(path, nil, digest)
		require.NoError(t, err)
		_, err = h.KeyedApproval("1234", now)
		assert.ErrorIs(t, err, ErrNotApproved, "an approval anybody could have written")
		assert.ErrorIs(t, err, core.ErrRefused)
	})
	t.Run("keyed log read without the key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		writeLog(t, path, key, digest)
		h, err := ReadHistory(path, nil, digest)
		require.NoError(t, err)
		_, err = h.KeyedApproval("1234", now)
		assert.ErrorIs(t, err, ErrNotApproved, "a MAC not checked is no proof")
	})
	t.Run("tampered", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		writeLog(t, path, key, digest)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, bytes.Replace(data, []byte(`"removed"`), []byte(`"failed"`), 1), 0o600))
		_, err = ReadHistory(path, key, digest)
		assert.ErrorIs(t, err, core.ErrRefused)
		assert.ErrorIs(t, err, audit.ErrTampered)
	})
	t.Run("no log", func(t *testing.T) {
		h, err := ReadHistory(filepath.Join(t.TempDir(), "none.jsonl"), key, digest)
		require.NoError(t, err)
		assert.Empty(t, h.Done)
		assert.NoError(t, CheckApplied(testPlan(), h.Done))
	})
}

func TestLedger(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plans")
	l, err := ReadLedger(dir, "abc")
	require.NoError(t, err)
	assert.Empty(t, l.Done)
	require.NoError(t, l.Note(dir, Done{Email: "john.smith@acme.test", Outcome: "removed", At: t0}))
	require.NoError(t, l.Note(dir, Done{Email: "pending.one@acme.test", Outcome: "revoked-invitation", At: t0.Add(time.Second)}))
	fi, err := os.Stat(LedgerPath(dir, "abc"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := ReadLedger(dir, "abc")
	require.NoError(t, err)
	h := &History{}
	h.Merge(again)
	assert.ErrorIs(t, CheckApplied(testPlan(), h.Done), ErrAlreadyApplied, "the ledger alone proves the plan applied")

	require.NoError(t, os.WriteFile(LedgerPath(dir, "abc"), []byte(`{"plan_digest":"other"}`), 0o600))
	_, err = ReadLedger(dir, "abc")
	assert.ErrorIs(t, err, core.ErrRefused, "a ledger of another plan")
}

func doneEmails(h *History) []string {
	var out []string
	for _, d := range h.Done {
		out = append(out, d.Email)
	}
	return out
}
