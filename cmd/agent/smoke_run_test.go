package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
)

// fakeTeamPage is a fixture's Team page without a browser: members and
// invitations that the flows change, a log of the calls, and the faults
// a test sets.
type fakeTeamPage struct {
	mu          sync.Mutex
	members     []roster.Member
	invitations []roster.Invitation
	// fail makes a method fail with its error; result replaces a
	// method's result (its action) without changing the page.
	fail   map[string]error
	result map[string]flows.Action
	// sticky keeps removed members on the page.
	sticky bool

	calls     []string
	artifacts []string
	closed    int
}

func newFakeTeamPage() *fakeTeamPage {
	return &fakeTeamPage{
		members:     []roster.Member{{Name: "Ann", Email: fixtures.DefaultEmail, Role: roster.Admin, You: true}, {Name: "Bob", Email: "bob@acme.test", Role: roster.Editor}},
		invitations: []roster.Invitation{{Email: "cat@acme.test", Role: roster.Viewer}},
		fail:        map[string]error{}, result: map[string]flows.Action{},
	}
}

func (p *fakeTeamPage) call(format string, args ...any) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := fmt.Sprintf(format, args...)
	p.calls = append(p.calls, c)
	method, _, _ := strings.Cut(c, " ")
	return method, p.fail[method]
}

func (p *fakeTeamPage) Login(_ context.Context, email, password string) ([]agent.Cookie, error) {
	_, err := p.call("Login %s %s", email, password)
	return nil, err
}

func (p *fakeTeamPage) List(_ context.Context, workspace string) (*roster.Roster, error) {
	if _, err := p.call("List %s", workspace); err != nil {
		return nil, err
	}
	return &roster.Roster{Workspace: workspace, Members: append([]roster.Member(nil), p.members...), Invitations: append([]roster.Invitation(nil), p.invitations...)}, nil
}

func (p *fakeTeamPage) outcome(method, email string, did flows.Action, change func()) flows.Result {
	if a, ok := p.result[method]; ok {
		return flows.Result{Email: email, Action: a, Detail: "as the test says"}
	}
	change()
	return flows.Result{Email: email, Action: did, Detail: string(did) + " " + email}
}

func (p *fakeTeamPage) Invite(_ context.Context, email string, role roster.Role, _ flows.Batch) (flows.Result, error) {
	m, err := p.call("Invite %s %s", email, role)
	if err != nil {
		return flows.Result{}, err
	}
	return p.outcome(m, email, flows.Invited, func() { p.invitations = append(p.invitations, roster.Invitation{Email: email, Role: role}) }), nil
}

func (p *fakeTeamPage) SetRole(_ context.Context, email string, role roster.Role, _ flows.Batch) (flows.Result, error) {
	m, err := p.call("SetRole %s %s", email, role)
	if err != nil {
		return flows.Result{}, err
	}
	return p.outcome(m, email, flows.RoleChanged, func() {
		for i := range p.members {
			if p.members[i].Email == email {
				p.members[i].Role = role
			}
		}
	}), nil
}

func (p *fakeTeamPage) Offboard(_ context.Context, emails []string, _ flows.Batch) ([]flows.Result, error) {
	m, err := p.call("Offboard %s", strings.Join(emails, ","))
	if err != nil {
		return nil, err
	}
	var out []flows.Result
	for _, e := range emails {
		out = append(out, p.outcome(m, e, flows.Removed, func() {
			if p.sticky {
				return
			}
			kept := p.members[:0]
			for _, mem := range p.members {
				if mem.Email != e {
					kept = append(kept, mem)
				}
			}
			p.members = kept
		}))
	}
	return out, nil
}

func (p *fakeTeamPage) Revoke(_ context.Context, emails []string, _ flows.Batch) ([]flows.Result, error) {
	m, err := p.call("Revoke %s", strings.Join(emails, ","))
	if err != nil {
		return nil, err
	}
	var out []flows.Result
	for _, e := range emails {
		out = append(out, p.outcome(m, e, flows.RevokedInvitation, func() { p.dropInvitation(e) }))
	}
	return out, nil
}

func (p *fakeTeamPage) dropInvitation(email string) {
	kept := p.invitations[:0]
	for _, i := range p.invitations {
		if i.Email != email {
			kept = append(kept, i)
		}
	}
	p.invitations = kept
}

// acceptInvitation is the fixture's control endpoint: the invitation
// becomes a member.
func (p *fakeTeamPage) acceptInvitation(_ context.Context, base, email string) error {
	if _, err := p.call("accept %s %s", base, email); err != nil {
		return err
	}
	p.dropInvitation(email)
	p.members = append(p.members, roster.Member{Email: email, Role: roster.Editor})
	return nil
}

func (p *fakeTeamPage) Reload(context.Context) error {
	_, err := p.call("Reload")
	return err
}

func (p *fakeTeamPage) SaveArtifacts(label string) ([]string, error) {
	p.artifacts = append(p.artifacts, label)
	return []string{"artifacts/smoke/" + label + ".png"}, nil
}

func (p *fakeTeamPage) Close() { p.closed++ }

// fakeClock starts at a fixed time and moves on by step at each reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// smokeFixture is the embedded servers and the browsers of a smoke test.
type smokeFixture struct {
	pages   map[string]*fakeTeamPage // by rendition
	started []string
	stopped []string
	opened  []string // "base-url artifacts-dir team-url"
	probed  []string
	openErr error
	n       *noted
}

func (f *smokeFixture) page(rendition string) *fakeTeamPage {
	if f.pages[rendition] == nil {
		f.pages[rendition] = newFakeTeamPage()
	}
	return f.pages[rendition]
}

func (f *smokeFixture) options(s streams, rendition, output string) *smokeOptions {
	f.pages, f.n = map[string]*fakeTeamPage{}, &noted{}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), step: 250 * time.Millisecond}
	current := ""
	return &smokeOptions{
		streams: s, rendition: rendition, output: output,
		email: fixtures.DefaultEmail, password: fixtures.DefaultPassword,
		baseURL: agent.DefaultBaseURL, teamPath: agent.DefaultTeamPath,
		cfg: agent.Config{ArtifactsDir: "artifacts/smoke", StepTimeout: 10 * time.Second},
		startFixture: func(r string) (smokeTarget, func(), error) {
			f.started = append(f.started, r)
			current = r
			return smokeTarget{base: "http://127.0.0.1:4" + fmt.Sprint(len(f.started)), workspace: fixtures.DefaultWorkspace, teamPath: agent.DefaultTeamPath,
				email: "fixture@acme.test", password: "fixture-pw", rendition: r}, func() { f.stopped = append(f.stopped, r) }, nil
		},
		probeFixture: func(_ context.Context, base string) error { f.probed = append(f.probed, base); return nil },
		openBrowser: func(_ context.Context, cfg agent.Config, teamURL string) (smokeBrowser, error) {
			f.opened = append(f.opened, cfg.BaseURL+" "+cfg.ArtifactsDir+" "+teamURL)
			if f.openErr != nil {
				return nil, f.openErr
			}
			return f.page(current), nil
		},
		accept: func(ctx context.Context, base, email string) error {
			return f.page(current).acceptInvitation(ctx, base, email)
		},
		now:           clock.now,
		noteArtifacts: f.n.note,
	}
}

// smokeSteps decodes -o json.
func smokeSteps(t *testing.T, out string) []smokeStep {
	t.Helper()
	var got struct {
		Steps []struct {
			Rendition string        `json:"rendition"`
			Step      string        `json:"step"`
			OK        bool          `json:"ok"`
			Skipped   bool          `json:"skipped"`
			Duration  time.Duration `json:"duration_ns"`
			Detail    string        `json:"detail"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	steps := make([]smokeStep, len(got.Steps))
	for i, s := range got.Steps {
		steps[i] = smokeStep{Rendition: s.Rendition, Step: s.Step, OK: s.OK, Skipped: s.Skipped, Duration: s.Duration, Detail: s.Detail}
	}
	return steps
}

var smokeStepNames = []string{"start browser", "login", "list", "invite", "accept (fixture)", "set-role", "offboard", "invite again", "revoke", "list again"}

func TestRunSmokePassesEveryStep(t *testing.T) {
	f := &smokeFixture{}
	s, out, errOut := testStreams("")
	require.NoError(t, smokeRun(context.Background(), f.options(s, fixtures.RenditionGrid, "json")))
	steps := smokeSteps(t, out.String())
	require.Len(t, steps, len(smokeStepNames))
	for i, st := range steps {
		assert.Equal(t, smokeStepNames[i], st.Step)
		assert.True(t, st.OK, "%s: %s", st.Step, st.Detail)
		assert.Equal(t, fixtures.RenditionGrid, st.Rendition)
		assert.Equal(t, 250*time.Millisecond, st.Duration, "timed by the clock")
	}
	team := "http://127.0.0.1:41/workspaces/" + fixtures.DefaultWorkspace + "/settings/team"
	assert.Equal(t, team, steps[0].Detail)
	assert.Equal(t, "signed in as fixture@acme.test", steps[1].Detail)
	assert.Equal(t, "2 members, 1 invitations", steps[2].Detail)
	assert.Equal(t, "2 members, 1 invitations, as at the start", steps[9].Detail)

	const a, b = "smoke-20260102t0304051234@smoke.example.test", "smoke-20260102t0304051234-b@smoke.example.test"
	assert.Equal(t, []string{
		"Login fixture@acme.test fixture-pw", "List " + fixtures.DefaultWorkspace,
		"Invite " + a + " Editor", "accept http://127.0.0.1:41 " + a, "Reload",
		"SetRole " + a + " Viewer", "Offboard " + a, "Invite " + b + " Viewer", "Revoke " + b,
		"Reload", "List " + fixtures.DefaultWorkspace,
	}, f.page(fixtures.RenditionGrid).calls, "the fixture's account, two throwaway addresses")
	assert.Equal(t, []string{"http://127.0.0.1:41 artifacts/smoke " + team}, f.opened)
	assert.Equal(t, []string{fixtures.RenditionGrid}, f.started)
	assert.Equal(t, []string{fixtures.RenditionGrid}, f.stopped, "the fixture server is stopped")
	assert.Equal(t, 1, f.page(fixtures.RenditionGrid).closed, "the browser is closed")
	assert.Empty(t, f.page(fixtures.RenditionGrid).artifacts)
	assert.Empty(t, errOut.String())
}

func TestRunSmokeWritesATable(t *testing.T) {
	f := &smokeFixture{}
	s, out, _ := testStreams("")
	require.NoError(t, smokeRun(context.Background(), f.options(s, fixtures.RenditionTable, "table")))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 12, out.String())
	assert.Regexp(t, `^RENDITION\s+STEP\s+RESULT\s+TIME\s+DETAIL$`, lines[0])
	assert.Regexp(t, `^table\s+start browser\s+ok\s+250ms\s+http://127\.0\.0\.1:41/`, lines[1])
	assert.Regexp(t, `^table\s+list again\s+ok\s+250ms\s+2 members, 1 invitations, as at the start$`, lines[10])
	assert.Regexp(t, `^\s+2\.5s\s+total$`, lines[11], "the total of the steps")
}

func TestRunSmokeFailsAndSkipsTheRest(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(p *fakeTeamPage, f *smokeFixture)
		failed string // the step that failed
		code   int
		detail string
		kept   bool // the page's artifacts are kept
	}{
		{name: "no browser", fault: func(_ *fakeTeamPage, f *smokeFixture) { f.openErr = errors.New("no Chrome or Chromium found") },
			failed: "start browser", code: exitFailed, detail: "no Chrome"},
		{name: "signed out", fault: func(p *fakeTeamPage, _ *smokeFixture) {
			p.fail["Login"] = fmt.Errorf("%w: wrong password", agent.ErrLoginRequired)
		},
			failed: "login", code: exitLogin, detail: "wrong password", kept: true},
		{name: "no signed-in member", fault: func(p *fakeTeamPage, _ *smokeFixture) { p.members[0].You = false },
			failed: "list", code: exitNotVerified, detail: "no signed-in member", kept: true},
		{name: "the page's own error", fault: func(p *fakeTeamPage, _ *smokeFixture) {
			p.fail["Invite"] = errors.New("the dialog says: No seats left on your plan.")
		}, failed: "invite", code: exitFailed, detail: "No seats left", kept: true},
		{name: "a role that did not change", fault: func(p *fakeTeamPage, _ *smokeFixture) { p.result["SetRole"] = flows.Unchanged },
			failed: "set-role", code: exitNotVerified, detail: "unchanged, want role-changed", kept: true},
		{name: "the fixture refuses to accept", fault: func(p *fakeTeamPage, _ *smokeFixture) {
			p.fail["accept"] = errors.New("the fixture could not accept the invitation: 404 Not Found")
		}, failed: "accept (fixture)", code: exitFailed, detail: "404", kept: true},
		{name: "a removal the page does not show", fault: func(p *fakeTeamPage, _ *smokeFixture) { p.sticky = true },
			failed: "list again", code: exitNotVerified, detail: "is still on the page", kept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &smokeFixture{}
			s, out, _ := testStreams("")
			opts := f.options(s, fixtures.RenditionGrid, "json")
			tc.fault(f.page(fixtures.RenditionGrid), f)
			err := smokeRun(context.Background(), opts)
			require.Error(t, err)
			assert.Equal(t, tc.code, exitCode(err))
			steps := smokeSteps(t, out.String())
			require.Len(t, steps, len(smokeStepNames), "every step is listed")
			after := false
			for _, st := range steps {
				switch {
				case st.Step == tc.failed:
					assert.False(t, st.OK)
					assert.False(t, st.Skipped)
					assert.Contains(t, st.Detail, tc.detail)
					after = true
				case after:
					assert.True(t, st.Skipped, st.Step)
					assert.Equal(t, "skipped after a failure", st.Detail)
					assert.Zero(t, st.Duration)
				default:
					assert.True(t, st.OK, st.Step)
				}
			}
			require.True(t, after, "the step failed")
			if tc.kept {
				assert.Equal(t, []string{"smoke-grid"}, f.page(fixtures.RenditionGrid).artifacts)
				assert.Equal(t, []string{"artifacts/smoke/smoke-grid.png"}, f.n.paths)
				assert.Equal(t, 1, f.page(fixtures.RenditionGrid).closed)
			} else {
				assert.Empty(t, f.n.paths, "no page, no artifacts")
			}
			assert.Equal(t, []string{fixtures.RenditionGrid}, f.stopped)
		})
	}
}

func TestRunSmokeEveryRendition(t *testing.T) {
	f := &smokeFixture{}
	s, out, _ := testStreams("")
	require.NoError(t, smokeRun(context.Background(), f.options(s, "all", "json")))
	assert.Equal(t, fixtures.Renditions(), f.started, "one server per rendition")
	assert.Equal(t, fixtures.Renditions(), f.stopped)
	per := map[string]int{}
	for _, st := range smokeSteps(t, out.String()) {
		per[st.Rendition]++
	}
	for _, r := range fixtures.Renditions() {
		assert.Equal(t, len(smokeStepNames), per[r], r)
		assert.Equal(t, 1, f.page(r).closed, "a browser per rendition")
	}
}

func TestRunSmokeAgainstAServer(t *testing.T) {
	tests := []struct {
		name, workspace, want string
	}{
		{"the fixture's workspace", "", fixtures.DefaultWorkspace},
		{"--workspace", "4321", "4321"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &smokeFixture{}
			s, out, _ := testStreams("")
			opts := f.options(s, fixtures.RenditionGrid, "json")
			opts.baseURL, opts.workspace = "http://fixtures:8089", tc.workspace
			require.NoError(t, smokeRun(context.Background(), opts))
			assert.Equal(t, []string{"http://fixtures:8089"}, f.probed, "the server is checked first")
			assert.Empty(t, f.started, "no embedded server")
			assert.Equal(t, []string{"http://fixtures:8089 artifacts/smoke http://fixtures:8089/workspaces/" + tc.want + "/settings/team"}, f.opened)
			p := f.page("")
			assert.Equal(t, "Login "+fixtures.DefaultEmail+" "+fixtures.DefaultPassword, p.calls[0], "--login-email and --login-password")
			assert.Equal(t, "List "+tc.want, p.calls[1])
			for _, st := range smokeSteps(t, out.String()) {
				assert.Empty(t, st.Rendition)
			}
		})
	}
}

func TestRunSmokeRefusesWhatIsNotAFixture(t *testing.T) {
	tests := []struct {
		name  string
		setup func(o *smokeOptions)
		is    error
	}{
		{"a real server", func(o *smokeOptions) {
			o.baseURL = "https://app.clay.example"
			o.probeFixture = func(context.Context, string) error {
				return usageError("https://app.clay.example is not a fixture server")
			}
		}, agent.ErrUsage},
		{"no port for the embedded server", func(o *smokeOptions) {
			o.startFixture = func(string) (smokeTarget, func(), error) {
				return smokeTarget{}, nil, fmt.Errorf("starting the fixture server: %w", errNoPort)
			}
		}, errNoPort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &smokeFixture{}
			s, out, _ := testStreams("")
			opts := f.options(s, fixtures.RenditionGrid, "json")
			tc.setup(opts)
			err := smokeRun(context.Background(), opts)
			require.ErrorIs(t, err, tc.is)
			assert.Empty(t, f.opened, "no browser")
			assert.Empty(t, out.String(), "no steps")
		})
	}
}

var errNoPort = errors.New("listen tcp 127.0.0.1:0: no free port")
