package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noBrowser is a browser path that does not exist: a command that got as
// far as starting the browser fails with exit 1 and names it, so an exit 2
// or 3 that does not mention it proves the command stopped before.
const noBrowser = "/nonexistent/chrome"

// secretValue is the session cookie's value in the test's session files.
const secretValue = "s:Zm9vYmFyLXNlY3JldC1zZXNzaW9u.c2lnbmF0dXJlLXNlY3JldA"

// writeState writes a storage state with one claysession cookie that
// expires at exp, with the given mode.
func writeState(t *testing.T, path string, exp time.Time, mode os.FileMode) {
	t.Helper()
	data := `{"cookies":[{"name":"claysession","value":"` + secretValue + `","domain":"127.0.0.1","path":"/","expires":` +
		jsonNumber(exp.Unix()) + `,"httpOnly":true,"secure":false,"sameSite":"Lax"}],"origins":[]}`
	require.NoError(t, os.WriteFile(path, []byte(data), mode))
	require.NoError(t, os.Chmod(path, mode))
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// sessionFiles creates one session file of each kind in dir and returns
// their paths by kind.
func sessionFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	p := func(name string) string { return filepath.Join(dir, name) }
	files := map[string]string{
		"valid":     p("valid.json"),
		"missing":   p("missing.json"),
		"directory": p("dir.json"),
		"dangling":  p("dangling.json"),
		"malformed": p("malformed.json"),
		"nocookies": p("nocookies.json"),
		"noname":    p("noname.json"),
		"open":      p("open.json"),
		"expired":   p("expired.json"),
		"toolarge":  p("toolarge.json"),
	}
	writeState(t, files["valid"], time.Now().Add(24*time.Hour), 0o600)
	require.NoError(t, os.Mkdir(files["directory"], 0o700))
	require.NoError(t, os.Symlink(p("nowhere.json"), files["dangling"]))
	// not JSON, and holding the secret so that a message quoting the file
	// would leak it
	require.NoError(t, os.WriteFile(files["malformed"], []byte("claysession="+secretValue+"\n"), 0o600))
	require.NoError(t, os.WriteFile(files["nocookies"], []byte(`{"cookies":[],"origins":[]}`), 0o600))
	require.NoError(t, os.WriteFile(files["noname"], []byte(`{"cookies":[{"name":"","value":"`+secretValue+`"}],"origins":[]}`), 0o600))
	writeState(t, files["open"], time.Now().Add(24*time.Hour), 0o644)
	writeState(t, files["expired"], time.Now().Add(-time.Hour), 0o600)
	require.NoError(t, os.WriteFile(files["toolarge"], make([]byte, 5<<20), 0o600))
	return files
}

func TestBadInputExitsTwoBeforeTheBrowser(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	files := sessionFiles(t, dir)
	artifacts := filepath.Join(dir, "artifacts")
	base := func(session string) []string {
		return []string{"--chrome", noBrowser, "--artifacts-dir", artifacts, "--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", session}
	}
	list := func(session string, extra ...string) []string {
		return append(append([]string{"list"}, base(session)...), extra...)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of the one stderr line
	}{
		{"unknown global flag", append([]string{"--bogus", "list"}, base(files["valid"])...), 2, []string{"unknown flag: --bogus"}},
		{"unknown flag of list", list(files["valid"], "--bogus"), 2, []string{"unknown flag: --bogus"}},
		{"unknown shorthand", list(files["valid"], "-x"), 2, []string{"unknown shorthand flag: 'x'"}},
		{"flag without its value", list(files["valid"], "-o"), 2, []string{"flag needs an argument"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"unknown command close to a real one", []string{"lst"}, 2, []string{`unknown command "lst"`}},
		{"positional argument", list(files["valid"], "extra"), 2, []string{"takes no arguments"}},
		{"missing workspace", []string{"list", "--chrome", noBrowser, "--artifacts-dir", artifacts, "--session", files["valid"]}, 2, []string{"no workspace", "--workspace", "CLAY_WORKSPACE"}},
		{"missing session", []string{"list", "--chrome", noBrowser, "--artifacts-dir", artifacts, "--workspace", "1234"}, 2, []string{"no session file", "--session", "CLAY_SESSION", "agent login"}},
		{"session file that does not exist", list(files["missing"]), 2, []string{files["missing"], "does not exist", "agent login"}},
		{"session file that is a directory", list(files["directory"]), 2, []string{files["directory"], "directory"}},
		{"session file that is a dangling symlink", list(files["dangling"]), 2, []string{files["dangling"]}},
		{"session file that is not JSON", list(files["malformed"]), 2, []string{files["malformed"], "not a storage-state JSON file"}},
		{"session file without cookies", list(files["nocookies"]), 2, []string{files["nocookies"], "no cookies"}},
		{"session file with a nameless cookie", list(files["noname"]), 2, []string{files["noname"], "no name"}},
		{"session file readable by others", list(files["open"]), 2, []string{files["open"], "0644", "chmod 600 " + files["open"]}},
		{"session file too large", list(files["toolarge"]), 2, []string{files["toolarge"], "too large"}},
		{"unknown output format", list(files["valid"], "-o", "xml"), 2, []string{`unknown output format "xml"`, "table, json, csv"}},
		{"--csv-raw without -o csv", list(files["valid"], "--csv-raw"), 2, []string{"--csv-raw applies to -o csv only"}},
		{"non-positive timeout", list(files["valid"], "--timeout", "0s"), 2, []string{"--timeout must be positive"}},
		{"unparsable timeout", list(files["valid"], "--timeout", "soon"), 2, []string{"--timeout"}},
		{"base URL that is not http", append(list(files["valid"]), "--base-url", "ftp://clay.example"), 2, []string{"ftp://clay.example", "http"}},
		{"unknown log format", list(files["valid"], "--log-format", "xml"), 2, []string{"--log-format"}},
		{"expired session cookie", list(files["expired"]), 3, []string{"expired", "agent login"}},
	}
	if os.Geteuid() != 0 {
		// root reads any file whatever its mode; the directory and the
		// dangling symlink stand in for an unreadable file there
		unreadable := filepath.Join(dir, "unreadable.json")
		writeState(t, unreadable, time.Now().Add(time.Hour), 0o600)
		require.NoError(t, os.Chmod(unreadable, 0o000))
		tests = append(tests, struct {
			name string
			args []string
			code int
			want []string
		}{"session file that cannot be read", list(unreadable), 2, []string{unreadable, "cannot be read"}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			lines := r.stderrLines()
			require.Len(t, lines, 1, "exactly one line on stderr, got:\n%s", r.stderr)
			assert.True(t, strings.HasPrefix(lines[0], "agent: "), "the line names the program: %q", lines[0])
			for _, w := range tc.want {
				assert.Contains(t, lines[0], w)
			}
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, noBrowser, "it must stop before starting the browser")
			assert.NotContains(t, r.stderr, secretValue)
			assert.NoDirExists(t, artifacts, "no artifacts for bad input")
		})
	}
}

// The browser path itself proves the point of the test above: with valid
// input the same command line gets as far as the browser and fails there.
func TestValidInputReachesTheBrowser(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	files := sessionFiles(t, dir)
	r := runCLI(t, "", "list", "--chrome", noBrowser, "--artifacts-dir", filepath.Join(dir, "a"),
		"--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", files["valid"])
	assert.Equal(t, exitFailed, r.code, r.stderr)
	assert.Contains(t, r.stderr, noBrowser)
	assert.Len(t, r.stderrLines(), 1, r.stderr)
	assert.NotContains(t, r.stderr, secretValue)
}

func TestBadInputWithJSONOutputIsOneJSONLine(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	files := sessionFiles(t, dir)
	tests := []struct {
		name string
		args []string
		code int
		kind string
	}{
		{"missing workspace", []string{"list", "-o", "json", "--chrome", noBrowser, "--session", files["valid"]}, 2, "usage"},
		{"session file readable by others", []string{"list", "-o", "json", "--chrome", noBrowser, "--workspace", "1", "--session", files["open"]}, 2, "usage"},
		{"expired session", []string{"list", "-o", "json", "--chrome", noBrowser, "--workspace", "1", "--session", files["expired"]}, 3, "login-required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			assert.Equal(t, tc.code, r.code)
			lines := r.stderrLines()
			require.Len(t, lines, 1, r.stderr)
			var got struct {
				Error struct {
					Message  string `json:"message"`
					ExitCode int    `json:"exit_code"`
					Kind     string `json:"kind"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &got), lines[0])
			assert.Equal(t, tc.code, got.Error.ExitCode)
			assert.Equal(t, tc.kind, got.Error.Kind)
			assert.NotEmpty(t, got.Error.Message)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	dir := t.TempDir()
	files := sessionFiles(t, dir)
	envSession := filepath.Join(dir, "env-session.json")
	flagSession := filepath.Join(dir, "flag-session.json")
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{
			name: "CLAY_SESSION is used without --session",
			env:  map[string]string{"CLAY_SESSION": envSession},
			args: []string{"list", "--workspace", "1", "--chrome", noBrowser},
			code: 2, want: []string{envSession},
		},
		{
			name: "--session wins over CLAY_SESSION",
			env:  map[string]string{"CLAY_SESSION": envSession},
			args: []string{"list", "--workspace", "1", "--chrome", noBrowser, "--session", flagSession},
			code: 2, want: []string{flagSession}, notWant: []string{envSession},
		},
		{
			name: "CLAY_WORKSPACE is used without --workspace",
			env:  map[string]string{"CLAY_WORKSPACE": "1234"},
			args: []string{"list", "--chrome", noBrowser, "--session", flagSession},
			code: 2, want: []string{flagSession}, notWant: []string{"no workspace"},
		},
		{
			name: "CLAY_BASE_URL is used without --base-url",
			env:  map[string]string{"CLAY_BASE_URL": "ftp://env.example"},
			args: []string{"list", "--workspace", "1", "--chrome", noBrowser, "--session", files["valid"]},
			code: 2, want: []string{"ftp://env.example"},
		},
		{
			name: "--base-url wins over CLAY_BASE_URL",
			env:  map[string]string{"CLAY_BASE_URL": "ftp://env.example"},
			args: []string{"list", "--workspace", "1", "--chrome", noBrowser, "--session", files["valid"], "--base-url", "http://127.0.0.1:9"},
			code: 1, want: []string{noBrowser}, notWant: []string{"env.example"},
		},
		{
			name: "CHROME_PATH is used without --chrome",
			env:  map[string]string{"CHROME_PATH": "/nonexistent/env-chrome"},
			args: []string{"list", "--workspace", "1", "--session", files["valid"], "--base-url", "http://127.0.0.1:9"},
			code: 1, want: []string{"/nonexistent/env-chrome"},
		},
		{
			name: "--chrome wins over CHROME_PATH",
			env:  map[string]string{"CHROME_PATH": "/nonexistent/env-chrome"},
			args: []string{"list", "--workspace", "1", "--session", files["valid"], "--base-url", "http://127.0.0.1:9", "--chrome", "/nonexistent/flag-chrome"},
			code: 1, want: []string{"/nonexistent/flag-chrome"}, notWant: []string{"env-chrome"},
		},
		{
			name: "a bad CLAY_CHROME_NO_SANDBOX is bad input",
			env:  map[string]string{"CLAY_CHROME_NO_SANDBOX": "maybe"},
			args: []string{"list", "--workspace", "1", "--session", files["valid"], "--chrome", noBrowser},
			code: 2, want: []string{"CLAY_CHROME_NO_SANDBOX"},
		},
		{
			name: "--no-sandbox wins over a bad CLAY_CHROME_NO_SANDBOX",
			env:  map[string]string{"CLAY_CHROME_NO_SANDBOX": "maybe"},
			args: []string{"list", "--workspace", "1", "--session", files["valid"], "--chrome", noBrowser, "--base-url", "http://127.0.0.1:9", "--no-sandbox"},
			code: 1, want: []string{noBrowser}, notWant: []string{"CLAY_CHROME_NO_SANDBOX"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearAgentEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := runCLI(t, "", tc.args...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			for _, w := range tc.want {
				assert.Contains(t, r.stderr, w)
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, r.stderr, w)
			}
		})
	}
}

// A named pipe passes every check on a session file's path and mode, and
// reading it blocks until something writes to it: the command must refuse
// it at once instead of hanging (and ignoring Ctrl-C) before the browser.
func TestSessionFileThatIsAPipeIsRefused(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "session.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	res := make(chan cliResult, 1)
	go func() {
		res <- runCLI(t, "", "list", "--chrome", noBrowser, "--artifacts-dir", filepath.Join(dir, "artifacts"),
			"--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", fifo)
	}()
	select {
	case r := <-res:
		assert.Equal(t, exitUsage, r.code, r.stderr)
		lines := r.stderrLines()
		require.Len(t, lines, 1, r.stderr)
		assert.Contains(t, lines[0], fifo)
	case <-time.After(3 * time.Second):
		// unblock the reader: a writer that opens and closes the pipe
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		r := <-res
		t.Fatalf("list blocked reading a named pipe as its session file (after the pipe was closed: exit %d, %q)", r.code, r.stderr)
	}
}
