package snapshot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
)

// fakeClock hands out times a minute apart.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Minute)
	return c.now
}

// listerOf returns a Lister that yields a copy of r without a capture time.
func listerOf(r *roster.Roster) snapshot.Lister {
	return func(ctx context.Context) (*roster.Roster, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := *r
		return &c, nil
	}
}

// hook records webhook bodies and answers with status.
type hook struct {
	mu     sync.Mutex
	status int
	bodies []snapshot.Payload
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var p snapshot.Payload
	_ = json.NewDecoder(r.Body).Decode(&p)
	h.bodies = append(h.bodies, p)
	w.WriteHeader(h.status)
}

func (h *hook) posts() []snapshot.Payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]snapshot.Payload(nil), h.bodies...)
}

func newHook(t *testing.T, status int) (*hook, *webhook.Client) {
	t.Helper()
	h := &hook{status: status}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := webhook.New(srv.URL,
		webhook.WithMaxAttempts(2),
		webhook.WithBackoff(time.Millisecond, time.Millisecond),
		webhook.WithMaxDuration(5*time.Second))
	require.NoError(t, err)
	return h, c
}

var (
	v1 = &roster.Roster{
		Workspace:   "acme",
		Members:     []roster.Member{member("Ann", "ann@example.com", roster.Admin), member("Bob", "bob@example.com", roster.Editor)},
		Invitations: []roster.Invitation{invite("dan@example.com", roster.Editor)},
	}
	v2 = &roster.Roster{
		Workspace:   "acme",
		Members:     []roster.Member{member("Ann", "ANN@example.com", roster.Admin), member("Dan", "dan@example.com", roster.Editor)},
		Invitations: []roster.Invitation{},
	}
)

func TestTakeSequence(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: t0}
	h, wh := newHook(t, http.StatusOK)
	opts := []snapshot.Option{snapshot.WithClock(clock.Now), snapshot.WithWebhook(wh)}

	// The first snapshot is a baseline: everything is new, nobody is told.
	first, err := snapshot.Take(context.Background(), listerOf(v1), dir, opts...)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "acme-20240310T073105Z.json"), first.Snapshot)
	assert.Empty(t, first.Previous)
	assert.Len(t, first.Changes.Added, 2)
	assert.Len(t, first.Changes.Invited, 1)
	assert.False(t, first.Notified)
	assert.Empty(t, h.posts())

	// The second reports the differences and posts them.
	second, err := snapshot.Take(context.Background(), listerOf(v2), dir, opts...)
	require.NoError(t, err)
	assert.Equal(t, first.Snapshot, second.Previous)
	assert.Equal(t, []roster.Member{member("Dan", "dan@example.com", roster.Editor)}, second.Changes.Added)
	assert.Equal(t, []roster.Member{member("Bob", "bob@example.com", roster.Editor)}, second.Changes.Removed)
	assert.Equal(t, []roster.Invitation{invite("dan@example.com", roster.Editor)}, second.Changes.InvitationGone)
	assert.Empty(t, second.Changes.RoleChanged, "ANN@ is still ann@")
	assert.True(t, second.Notified)
	require.NoError(t, second.WebhookErr)
	posts := h.posts()
	require.Len(t, posts, 1)
	assert.Equal(t, "acme", posts[0].Workspace)
	assert.Equal(t, second.Snapshot, posts[0].Snapshot)
	assert.Equal(t, first.Snapshot, posts[0].Previous)
	assert.Equal(t, second.Changes.Added, posts[0].Changes.Added)
	assert.Equal(t, second.Changes.SlackText("acme"), posts[0].Text)
	assert.Contains(t, posts[0].Text, "1 added: dan@example.com (Editor)")

	// The third finds nothing new and posts nothing.
	third, err := snapshot.Take(context.Background(), listerOf(v2), dir, opts...)
	require.NoError(t, err)
	assert.Equal(t, second.Snapshot, third.Previous)
	assert.True(t, third.Changes.Empty())
	assert.False(t, third.Notified)
	assert.Len(t, h.posts(), 1)
}

func TestTakeWebhookFailureKeepsSnapshot(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: t0}
	h, wh := newHook(t, http.StatusInternalServerError)
	_, err := snapshot.Take(context.Background(), listerOf(v1), dir, snapshot.WithClock(clock.Now))
	require.NoError(t, err)

	res, err := snapshot.Take(context.Background(), listerOf(v2), dir, snapshot.WithClock(clock.Now), snapshot.WithWebhook(wh))

	require.NoError(t, err, "a failing webhook is not a failed snapshot")
	var serr *webhook.StatusError
	require.ErrorAs(t, res.WebhookErr, &serr)
	assert.Equal(t, http.StatusInternalServerError, serr.Code)
	assert.False(t, res.Notified)
	assert.Len(t, h.posts(), 2, "retried once")
	saved, err := snapshot.Load(res.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, v2.Members, saved.Members)
}

func TestTakeListerFailureWritesNothing(t *testing.T) {
	errLogin := errors.New("login required")
	tests := []struct {
		name    string
		ctx     func() context.Context
		list    snapshot.Lister
		wantErr error
	}{
		{
			name:    "lister error",
			ctx:     context.Background,
			list:    func(context.Context) (*roster.Roster, error) { return nil, errLogin },
			wantErr: errLogin,
		},
		{
			name: "cancelled",
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			list:    listerOf(v1),
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			res, err := snapshot.Take(tt.ctx(), tt.list, dir)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, res)
			assert.Empty(t, names(t, dir))
		})
	}
}

func TestTakeKeep(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: t0}
	var last *snapshot.Result
	for range 4 {
		res, err := snapshot.Take(context.Background(), listerOf(v1), dir, snapshot.WithClock(clock.Now), snapshot.WithKeep(2))
		require.NoError(t, err)
		require.NoError(t, res.PruneErr)
		last = res
	}
	assert.Len(t, last.Pruned, 1)
	entries, err := snapshot.List(dir, "acme")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, last.Snapshot, entries[1].Path, "the new snapshot is kept")
	assert.Equal(t, last.Previous, entries[0].Path)
}

func TestTakeKeepsListerCaptureTime(t *testing.T) {
	dir := t.TempDir()
	r := *v1
	r.CapturedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := snapshot.Take(context.Background(), listerOf(&r), dir, snapshot.WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	assert.Equal(t, "acme-20250102T030405Z.json", filepath.Base(res.Snapshot))
}

func TestResultJSON(t *testing.T) {
	res := &snapshot.Result{Snapshot: "d/acme-2.json", Previous: "d/acme-1.json", Workspace: "acme", WebhookErr: errors.New("x")}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.JSONEq(t, `{"snapshot":"d/acme-2.json","previous":"d/acme-1.json","changes":{
		"added":[],"removed":[],"role_changed":[],"renamed":[],"invited":[],"invitation_gone":[],"unreadable":[]}}`, string(b))
}

func TestDiffFiles(t *testing.T) {
	dir := t.TempDir()
	r1 := *v1
	r1.CapturedAt = t0
	r2 := *v2
	r2.CapturedAt = t0.Add(time.Hour)
	a, err := snapshot.Save(dir, &r1)
	require.NoError(t, err)
	b, err := snapshot.Save(dir, &r2)
	require.NoError(t, err)

	res, err := snapshot.DiffFiles(a, b)
	require.NoError(t, err)
	assert.Equal(t, a, res.Previous)
	assert.Equal(t, b, res.Snapshot)
	assert.Equal(t, snapshot.Diff(&r1, &r2), res.Changes)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{"), 0o600))
	_, err = snapshot.DiffFiles(a, bad)
	assert.ErrorIs(t, err, snapshot.ErrInvalidSnapshot)
}

func TestTakePublishesTheAuditHead(t *testing.T) {
	head := &snapshot.AuditHead{Log: "/state/audit.jsonl", Head: "5f0c9a0e" + strings.Repeat("0", 56), Records: 214}
	broken := &snapshot.AuditHead{Log: "/state/audit.jsonl", Error: "line 3: prev does not match <edited>"}
	tests := []struct {
		name     string
		head     *snapshot.AuditHead
		wantLine string // the last line of the text; "" for none
	}{
		{name: "head", head: head, wantLine: "Audit log: 214 records, head " + head.Head + "."},
		{name: "a log that did not verify", head: broken, wantLine: "Audit log: not verified: line 3: prev does not match &lt;edited&gt;."},
		{name: "no log", head: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clock := &fakeClock{now: t0}
			h, wh := newHook(t, http.StatusOK)
			opts := []snapshot.Option{snapshot.WithClock(clock.Now), snapshot.WithWebhook(wh), snapshot.WithAuditHead(tt.head)}
			_, err := snapshot.Take(context.Background(), listerOf(v1), dir, opts...)
			require.NoError(t, err)
			res, err := snapshot.Take(context.Background(), listerOf(v2), dir, opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.head, res.Audit)

			posts := h.posts()
			require.Len(t, posts, 1)
			assert.Equal(t, tt.head, posts[0].Audit)
			text := res.Changes.SlackText("acme")
			if tt.wantLine != "" {
				text += "\n" + tt.wantLine
			}
			assert.Equal(t, text, posts[0].Text)

			out, err := json.Marshal(res)
			require.NoError(t, err)
			var fields map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(out, &fields))
			if tt.head == nil {
				assert.NotContains(t, fields, "audit")
				return
			}
			want, err := json.Marshal(tt.head)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(fields["audit"]))
		})
	}
}
