package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
)

// newFixturesRunEnv is fixtures serve's Options with the flags' defaults,
// on a loopback listener.
func newFixturesRunEnv(t *testing.T, rendition string) (*fixturesServeOptions, *recordingListener, *lockedBuffer) {
	t.Helper()
	st, out, _ := lockedStreams()
	ln := &recordingListener{}
	o := &fixturesServeOptions{streams: st, addr: "127.0.0.1:8089", listenOn: ln.listen,
		fixture: fixtureFlags{rendition: rendition, workspace: fixtures.DefaultWorkspace, pageSize: fixtures.DefaultPageSize,
			email: fixtures.DefaultEmail, pwd: fixtures.DefaultPassword, loginForm: string(fixtures.LoginOnePage)}}
	require.NoError(t, o.fixture.validate())
	return o, ln, out
}

var fixtureServingRE = regexp.MustCompile(`\) on (http://\S+)\n`)

// TestRunFixturesServeSaysHowToSignIn: the server says what it serves,
// where and how to sign in (and, for a generated rendition, its choices),
// serves the login page there, and stops cleanly.
func TestRunFixturesServeSaysHowToSignIn(t *testing.T) {
	for _, tc := range []struct {
		rendition string
		want      []string
	}{
		{fixtures.RenditionTable, []string{"fixture server (table rendition, one-page login form, workspace 1234) on http://127.0.0.1:"}},
		{"gen:42", []string{"fixture server (gen:42 rendition", "  seed:      42\n", "  choices:   "}},
	} {
		t.Run(tc.rendition, func(t *testing.T) {
			o, ln, out := newFixturesRunEnv(t, tc.rendition)
			run := runInBackground(t, func(ctx context.Context) error { return fixturesServeRun(ctx, o) })
			base := waitFor(t, out, fixtureServingRE)
			assert.Equal(t, []string{"127.0.0.1:8089"}, ln.asked(), "it listens on --addr")
			assertCLI(t, cliResult{stdout: out.String()}, cliWant{stdout: append(tc.want,
				"  team page: "+base+"/", "  sign in:   "+fixtures.DefaultEmail+" / "+fixtures.DefaultPassword+"\n")})
			resp, err := http.Get(base + "/login")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			require.NoError(t, run.stop(t))
			_, err = http.Get(base + "/login")
			assert.Error(t, err, "the server is closed")
		})
	}
}

// TestRunFixturesServeRefusesABadAddressOrRecording: an address it cannot
// listen on and a recording it cannot open are usage errors, the latter
// before it listens.
func TestRunFixturesServeRefusesABadAddressOrRecording(t *testing.T) {
	o, ln, out := newFixturesRunEnv(t, fixtures.RenditionTable)
	ln.err = errors.New("address already in use")
	err := fixturesServeRun(t.Context(), o)
	require.ErrorIs(t, err, agent.ErrUsage)
	assert.ErrorContains(t, err, "--addr 127.0.0.1:8089")
	assert.Empty(t, out.String())

	o, ln, out = newFixturesRunEnv(t, fixtures.RenditionTable)
	o.fixture.recording = filepath.Join(t.TempDir(), "no-recording")
	err = fixturesServeRun(t.Context(), o)
	require.ErrorIs(t, err, agent.ErrUsage)
	assert.ErrorContains(t, err, "--recording")
	assert.Empty(t, ln.asked(), "it never listened")
	assert.Empty(t, out.String())
}
