package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
)

// The fakes the run functions of snapshot, serve, scim serve, reconcile,
// plan, approve, apply and fixtures serve are tested with: no flags, no
// browser.

// lockedStreams are streams over buffers: no input, and stdout and stderr
// that a running server may write to while the test reads them.
func lockedStreams() (streams, *lockedBuffer, *lockedBuffer) {
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	return streams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, out, errOut
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// envOf is an environment holding env only.
func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// noAuditKey reads no key: none is named.
func noAuditKey(string, string) ([]byte, error) { return nil, nil }

// fixedClock is a clock that always says t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// seedRoster is the fixture server's seed as the page lists it: the
// signed-in user is the fixture's login.
func seedRoster() *roster.Roster {
	r := &roster.Roster{Workspace: fixtures.DefaultWorkspace}
	for _, m := range fixtures.SeedMembers() {
		r.Members = append(r.Members, roster.Member{Name: m.Name, Email: m.Email, Role: roster.Role(m.Role), You: m.Email == fixtures.DefaultEmail})
	}
	for _, i := range fixtures.SeedInvitations() {
		r.Invitations = append(r.Invitations, roster.Invitation{Email: i.Email, Role: roster.Role(i.Role)})
	}
	return r
}

// fakePage is a Team page that lists a set roster, or fails with err.
type fakePage struct {
	mu     sync.Mutex
	roster *roster.Roster
	err    error
	lists  int
	closes int
	// failed are the labels of the failures whose artifacts were kept.
	failed []string
	// listed, when set, receives a value after each listing.
	listed chan struct{}
	// onClose, when set, runs at each Close.
	onClose func()
}

func (p *fakePage) List(context.Context) (*roster.Roster, error) {
	p.mu.Lock()
	p.lists++
	r, err := p.roster, p.err
	p.mu.Unlock()
	if p.listed != nil {
		select {
		case p.listed <- struct{}{}:
		default:
		}
	}
	if err != nil {
		return nil, err
	}
	c := *r
	return &c, nil
}

func (p *fakePage) Fail(label string, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed = append(p.failed, label)
	return err
}

func (p *fakePage) Close() {
	p.mu.Lock()
	p.closes++
	onClose := p.onClose
	p.mu.Unlock()
	if onClose != nil {
		onClose()
	}
}

// counts returns how often the page was listed and closed, and the
// failures kept.
func (p *fakePage) counts() (lists, closes int, failed []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lists, p.closes, append([]string(nil), p.failed...)
}

// fakeOpener opens page, or fails with err; it counts the opens.
type fakeOpener struct {
	mu    sync.Mutex
	page  *fakePage
	err   error
	opens int
}

func (f *fakeOpener) open(context.Context) (readSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	if f.err != nil {
		return nil, f.err
	}
	return f.page, nil
}

// opened is how often a page was opened.
func (f *fakeOpener) opened() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens
}

// checkOK is a session check that passes for workspace.
func checkOK(workspace string) sessionCheck {
	return func() (string, error) { return workspace, nil }
}

// recordingListener is a listenFunc on the loopback interface that
// remembers the addresses asked for.
type recordingListener struct {
	mu    sync.Mutex
	addrs []string
	err   error
}

func (l *recordingListener) listen(addr string) (net.Listener, error) {
	l.mu.Lock()
	l.addrs = append(l.addrs, addr)
	err := l.err
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// asked is the addresses asked for.
func (l *recordingListener) asked() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.addrs...)
}

// backgroundRun is a run function running until the test stops it.
type backgroundRun struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
	ended  bool
}

// runInBackground runs run until stop is called or the test ends.
func runInBackground(t *testing.T, run func(ctx context.Context) error) *backgroundRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	b := &backgroundRun{cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- run(ctx) }()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop cancels the run and returns its error.
func (b *backgroundRun) stop(t *testing.T) error {
	t.Helper()
	b.once.Do(func() {
		b.cancel()
		select {
		case b.err = <-b.done:
			b.ended = true
		case <-time.After(time.Minute):
			t.Error("the run did not stop within a minute of its cancel")
		}
	})
	require.True(t, b.ended, "the run stopped")
	return b.err
}

// waitFor waits until out holds re's match and returns the first group.
func waitFor(t *testing.T, out *lockedBuffer, re interface {
	FindStringSubmatch(string) []string
}) string {
	t.Helper()
	var got string
	require.Eventually(t, func() bool {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			got = m[1]
			return true
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "not in the output: %s", out.String())
	return got
}

// testLog is a logger for the run functions that drops everything.
var testLog = zap.NewNop()
