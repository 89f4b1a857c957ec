package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/flows"
)

// fakeDoctor is a machine and a Team page for doctor's checks, without a
// browser or a network: what each check finds, and what it was asked.
type fakeDoctor struct {
	chrome    string
	chromeErr error
	state     *agent.StorageState
	stateErr  error
	env       map[string]string
	reachErr  error
	probe     *flows.Probe
	probeErr  error

	found   int      // findChrome calls
	loaded  []string // session files read
	reached []string // "base timeout"
	probed  int
}

func (f *fakeDoctor) options(s streams, output string) *doctorOptions {
	return &doctorOptions{
		streams: s, output: output,
		cfg: agent.Config{BaseURL: "http://127.0.0.1:9", Workspace: "1234", TeamPath: agent.DefaultTeamPath,
			SessionFile: "/run/session.json", StepTimeout: 7 * time.Second},
		findChrome: func() (string, error) { f.found++; return f.chrome, f.chromeErr },
		loadSession: func(p string) (*agent.StorageState, error) {
			f.loaded = append(f.loaded, p)
			return f.state, f.stateErr
		},
		getenv: func(k string) string { return f.env[k] },
		reachable: func(_ context.Context, base string, d time.Duration) error {
			f.reached = append(f.reached, fmt.Sprintf("%s %s", base, d))
			return f.reachErr
		},
		probe: func(context.Context) (*flows.Probe, error) { f.probed++; return f.probe, f.probeErr },
	}
}

// healthyDoctor finds everything in order.
func healthyDoctor() *fakeDoctor {
	expires := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &fakeDoctor{
		chrome: "/usr/bin/chromium",
		state:  &agent.StorageState{Cookies: []agent.Cookie{{Name: agent.SessionCookieName, Value: "s:secret", Expires: float64(expires.Unix())}}},
		probe: &flows.Probe{Members: 12, Invitations: 2, Checks: []flows.Check{
			{Control: flows.ProbeList, Found: true, Unique: true, Hook: "text", Detail: "12 rows"},
			{Control: flows.ProbeRemove, Found: true, Unique: true, Hook: "aria name"},
			{Control: flows.ProbeRevoke, Skipped: true},
		}},
	}
}

func TestRunDoctorAllGood(t *testing.T) {
	f := healthyDoctor()
	s, out, errOut := testStreams("")
	require.NoError(t, doctorRun(context.Background(), f.options(s, "table")))
	assert.Equal(t, "ok    browser      /usr/bin/chromium\n"+
		"ok    config       http://127.0.0.1:9/workspaces/1234/settings/team\n"+
		"ok    session      storage state with 1 cookies (claysession) and 0 origins; session cookie expires 2026-03-01T12:00:00Z\n"+
		"ok    reachable    http://127.0.0.1:9\n"+
		"ok    team page    12 members, 2 pending invitations; every control found\n"+
		"\n"+
		"CONTROL  FOUND  HOOK       UNIQUE  DETAIL\n"+
		"list     yes    text       yes     12 rows\n"+
		"remove   yes    aria name  yes     \n"+
		"revoke   -      -          -       \n", out.String())
	assert.NotContains(t, out.String(), "s:secret")
	assert.Empty(t, errOut.String())
	assert.Equal(t, []string{"/run/session.json"}, f.loaded)
	assert.Equal(t, []string{"http://127.0.0.1:9 7s"}, f.reached, "the base URL, within the step timeout")
	assert.Equal(t, 1, f.probed)
}

func TestRunDoctorReportsMissingChrome(t *testing.T) {
	f := healthyDoctor()
	f.chrome, f.chromeErr = "", fmt.Errorf("no Chrome or Chromium found (apt-get install -y chromium)")
	s, out, _ := testStreams("")
	err := doctorRun(context.Background(), f.options(s, "table"))
	require.Error(t, err)
	assert.Equal(t, exitFailed, exitCode(err))
	assert.Equal(t, "no Chrome or Chromium found (apt-get install -y chromium)", err.Error(), "the first failure is the message")
	assert.Regexp(t, `(?m)^FAIL  browser      no Chrome or Chromium found`, out.String())
	assert.Regexp(t, `(?m)^ok    session`, out.String(), "the other checks still run")
	assert.Equal(t, 1, f.found)
}

func TestRunDoctorBrowserNamed(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*agent.Config)
		detail string
	}{
		{"a binary", func(c *agent.Config) { c.ChromePath = "/opt/chrome/chrome" }, "/opt/chrome/chrome"},
		{"a DevTools endpoint", func(c *agent.Config) { c.ChromeURL = "http://chrome:9222"; c.ChromePath = "/opt/chrome/chrome" }, "attaching to http://chrome:9222"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyDoctor()
			s, out, _ := testStreams("")
			opts := f.options(s, "table")
			tc.cfg(&opts.cfg)
			require.NoError(t, doctorRun(context.Background(), opts))
			assert.Contains(t, out.String(), "ok    browser      "+tc.detail+"\n")
			assert.Zero(t, f.found, "no search for a browser that is named")
		})
	}
}

func TestRunDoctorStopsAtWhatACheckNeeds(t *testing.T) {
	usage := fmt.Errorf("%w: session file /run/session.json is readable by others (0644): chmod 600 /run/session.json", agent.ErrUsage)
	tests := []struct {
		name    string
		offline bool
		cfg     func(*agent.Config)
		doctor  func(*fakeDoctor)
		code    int
		fail    string // the FAIL line's check
		reached bool
		probed  bool
	}{
		{name: "offline", offline: true, code: exitOK},
		{name: "no workspace", cfg: func(c *agent.Config) { c.Workspace = "" }, code: exitFailed, fail: "config"},
		{name: "a session others can read", doctor: func(f *fakeDoctor) { f.state, f.stateErr = nil, usage }, code: exitFailed, fail: "session", reached: true},
		{name: "unreachable", doctor: func(f *fakeDoctor) { f.reachErr = errors.New("cannot reach http://127.0.0.1:9: connection refused") },
			code: exitFailed, fail: "reachable", reached: true, probed: true},
		{name: "offline with a bad session", offline: true, doctor: func(f *fakeDoctor) { f.state, f.stateErr = nil, usage }, code: exitFailed, fail: "session"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyDoctor()
			if tc.doctor != nil {
				tc.doctor(f)
			}
			s, out, _ := testStreams("")
			opts := f.options(s, "table")
			opts.offline = tc.offline
			if tc.cfg != nil {
				tc.cfg(&opts.cfg)
			}
			err := doctorRun(context.Background(), opts)
			assert.Equal(t, tc.code, exitCode(err), out.String())
			if tc.fail != "" {
				assert.Regexp(t, `(?m)^FAIL  `+tc.fail+` `, out.String())
			}
			assert.Equal(t, tc.reached, len(f.reached) > 0, "reachability checked")
			assert.Equal(t, tc.probed, f.probed > 0, "Team page probed")
			assert.Equal(t, tc.probed, strings.Contains(out.String(), "team page"))
		})
	}
}

func TestRunDoctorTeamPage(t *testing.T) {
	tests := []struct {
		name     string
		probe    *flows.Probe
		probeErr error
		code     int
		is       error
		want     []string // in the message
		table    bool     // the controls' table is printed
	}{
		{name: "signed out", probeErr: fmt.Errorf("%w: the Team page shows the login form: run agent login", agent.ErrLoginRequired),
			code: exitLogin, is: agent.ErrLoginRequired, want: []string{"agent login"}},
		{name: "a control gone", probe: &flows.Probe{Checks: []flows.Check{
			{Control: flows.ProbeList, Found: true, Unique: true, Hook: "text"},
			{Control: flows.ProbeRemove, Found: false, Detail: "no remove control"},
			{Control: flows.ProbeRevoke, Found: true, Unique: false, Hook: "title", Detail: "2 matches"},
		}}, code: exitPageChanged, want: []string{"a member row's remove control (remove)", "an invitation row's revoke control (revoke)"}, table: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyDoctor()
			f.probe, f.probeErr = tc.probe, tc.probeErr
			s, out, _ := testStreams("")
			err := doctorRun(context.Background(), f.options(s, "table"))
			require.Error(t, err)
			assert.Equal(t, tc.code, exitCode(err))
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Regexp(t, `(?m)^FAIL  team page `, out.String())
			assert.Equal(t, tc.table, strings.Contains(out.String(), "CONTROL  FOUND"))
			if tc.table {
				assert.Regexp(t, `(?m)^remove\s+no\s+-\s+no\s+no remove control$`, out.String())
			}
		})
	}
}

func TestRunDoctorWorstCodeWins(t *testing.T) {
	f := healthyDoctor()
	f.chrome, f.chromeErr = "", errors.New("no Chrome")
	f.probeErr = fmt.Errorf("%w: signed out", agent.ErrLoginRequired)
	s, _, _ := testStreams("")
	err := doctorRun(context.Background(), f.options(s, "table"))
	assert.Equal(t, exitLogin, exitCode(err), "signed out beats a failed check")
	assert.Contains(t, err.Error(), "signed out", "and names the page's failure")
}

func TestRunDoctorWebhook(t *testing.T) {
	tests := []struct {
		name string
		url  string
		line string
		code int
	}{
		{"none", "", "", exitOK},
		{"valid", "https://hooks.example.test/services/T000/B000/XXXXSECRET", `(?m)^ok    webhook      https://hooks\.example\.test/.*\(CLAY_WEBHOOK\)$`, exitOK},
		{"not a URL", "hooks.example.test/x", `(?m)^FAIL  webhook      CLAY_WEBHOOK: `, exitFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyDoctor()
			f.env = map[string]string{webhook.EnvURL: tc.url}
			s, out, _ := testStreams("")
			err := doctorRun(context.Background(), f.options(s, "table"))
			assert.Equal(t, tc.code, exitCode(err))
			if tc.line == "" {
				assert.NotContains(t, out.String(), "webhook")
				return
			}
			assert.Regexp(t, tc.line, out.String())
			assert.NotContains(t, out.String(), "XXXXSECRET", "the URL is shown redacted")
		})
	}
}

func TestRunDoctorWritesJSON(t *testing.T) {
	tests := []struct {
		name     string
		offline  bool
		controls int
	}{
		{"online", false, 3},
		{"offline: controls is an empty list", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyDoctor()
			s, out, _ := testStreams("")
			opts := f.options(s, "json")
			opts.offline = tc.offline
			require.NoError(t, doctorRun(context.Background(), opts))
			var rep struct {
				Checks   []doctorCheck  `json:"checks"`
				Controls *[]flows.Check `json:"controls"`
			}
			require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "stdout is one JSON document: %s", out.String())
			require.NotNil(t, rep.Controls, "controls is never null")
			assert.Len(t, *rep.Controls, tc.controls)
			var names []string
			for _, c := range rep.Checks {
				assert.True(t, c.OK, c.Name)
				names = append(names, c.Name)
			}
			want := []string{"browser", "config", "session", "reachable", "team page"}
			if tc.offline {
				want = want[:3]
			}
			assert.Equal(t, want, names)
		})
	}
}
