package core_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/core"
)

func TestPolicy(t *testing.T) {
	tests := []struct {
		name       string
		p          core.Policy
		email      string
		removals   int
		domainErr  bool
		removalErr bool
	}{
		{name: "no rules", email: "a@x.com", removals: core.DefaultMaxRemovals},
		{name: "default bound", email: "a@x.com", removals: core.DefaultMaxRemovals + 1, removalErr: true},
		{name: "no bound", p: core.Policy{MaxRemovals: -1}, email: "a@x.com", removals: 1000},
		{name: "in domain", p: core.Policy{AllowDomains: []string{"@Corp.com"}}, email: "A@corp.COM", removals: 1},
		{name: "outside domain", p: core.Policy{AllowDomains: []string{"corp.com"}}, email: "a@corp.com.evil.io", removals: 1, domainErr: true},
		{name: "bound of one", p: core.Policy{MaxRemovals: 1}, email: "a@x.com", removals: 2, removalErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.CheckDomain(tt.email)
			assert.Equal(t, tt.domainErr, err != nil, "CheckDomain: %v", err)
			if err != nil {
				assert.ErrorIs(t, err, core.ErrRefused)
			}
			err = tt.p.CheckRemovals(tt.removals, "make %d removals")
			assert.Equal(t, tt.removalErr, err != nil, "CheckRemovals: %v", err)
			if err != nil {
				assert.ErrorIs(t, err, core.ErrRefused)
			}
		})
	}
}

func TestStricter(t *testing.T) {
	tests := []struct {
		name    string
		a, b    core.Policy
		max     int
		domains []string
	}{
		{name: "smaller bound wins", a: core.Policy{MaxRemovals: 10}, b: core.Policy{MaxRemovals: 3}, max: 3},
		{name: "unset takes the other", a: core.Policy{}, b: core.Policy{MaxRemovals: 4}, max: 4},
		{name: "flag's bound kept", a: core.Policy{MaxRemovals: 2}, b: core.Policy{MaxRemovals: 5}, max: 2},
		{name: "domains meet", a: core.Policy{AllowDomains: []string{"a.com", "b.com"}}, b: core.Policy{AllowDomains: []string{"@B.com"}}, domains: []string{"b.com"}},
		{name: "domains taken", b: core.Policy{AllowDomains: []string{"a.com"}}, domains: []string{"a.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.a.Stricter(tt.b)
			assert.Equal(t, tt.max, got.MaxRemovals)
			assert.Equal(t, tt.domains, got.AllowDomains)
		})
	}
	none := core.Policy{AllowDomains: []string{"a.com"}}.Stricter(core.Policy{AllowDomains: []string{"b.com"}})
	require.Len(t, none.AllowDomains, 1)
	assert.Error(t, none.CheckDomain("x@a.com"), "domains that do not meet allow nobody")
	assert.Error(t, none.CheckDomain("x@b.com"))
}

func TestValidateTargets(t *testing.T) {
	got, err := core.ValidateTargets([]string{"A@corp.com", "a@CORP.com", "b@corp.com"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a@corp.com", "b@corp.com"}, got)
	for _, bad := range [][]string{nil, {"not an email"}, {"a@corp.com", ""}} {
		_, err := core.ValidateTargets(bad)
		assert.ErrorIs(t, err, core.ErrUsage, "%q", bad)
	}
}

func TestFailedResult(t *testing.T) {
	cause := errors.New("boom")
	r := core.FailedResult("a@x.com", cause)
	assert.Equal(t, core.Failed, r.Action)
	assert.ErrorIs(t, r.Err, cause)
	assert.False(t, r.Changed())
	assert.True(t, core.Result{Action: core.Removed}.Changed())
}

// The domain packages build without the browser: nothing of chromedp is
// among their dependencies.
func TestDomainBuildsWithoutTheBrowser(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to list the dependencies")
	pkgs := []string{"./agent/core", "./agent/scim", "./agent/plan", "./agent/idp", "./agent/snapshot"}
	cmd := exec.Command(goBin, append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var browser []string
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "chromedp") || strings.HasSuffix(dep, "clay-agent/flows") || strings.HasSuffix(dep, "clay-agent/selectors") || strings.HasSuffix(dep, "clay-agent/agent") {
			browser = append(browser, dep)
		}
	}
	assert.Empty(t, browser, "the domain packages import the browser layer")
}
