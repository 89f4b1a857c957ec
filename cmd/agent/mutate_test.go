package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
)

// pngSignature starts every PNG file.
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// mutEnv is a fixture server with an audit log, an evidence directory and
// a lock directory of its own, for the mutating commands.
type mutEnv struct {
	*e2e
	auditLog, evidence, locks string
}

// startMut starts a fixture server built with opts and points everything a
// mutating command writes (audit log, evidence, locks, the default state
// directory) into the test's temporary directory.
func startMut(t *testing.T, opts ...fixtures.Option) *mutEnv {
	t.Helper()
	e := startE2E(t, opts...)
	t.Setenv("CLAY_AUDIT_LOG", "")
	t.Setenv("CLAY_EVIDENCE_DIR", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	return &mutEnv{
		e2e:      e,
		auditLog: filepath.Join(e.Dir, "audit", "audit.jsonl"),
		evidence: filepath.Join(e.Dir, "evidence"),
		locks:    filepath.Join(e.Dir, "locks"),
	}
}

// cmd builds a mutating command line (name is "offboard", "invite",
// "set-role" or "revoke") for the fixture, with a 5s step timeout.
func (m *mutEnv) cmd(name string, extra ...string) []string {
	args := append([]string{name}, m.globals()...)
	args = append(args, "--timeout", "5s",
		"--audit-log", m.auditLog, "--evidence-dir", m.evidence, "--lock-dir", m.locks)
	return append(args, extra...)
}

// records reads the audit log.
func (m *mutEnv) records(t *testing.T) []audit.Record {
	t.Helper()
	return readAudit(t, m.auditLog)
}

// verifyAudit runs `agent audit verify` on the log and returns the number
// of records it reports.
func (m *mutEnv) verifyAudit(t *testing.T) int {
	t.Helper()
	r := runCLI(t, "", "audit", "verify", "--audit-log", m.auditLog)
	require.Equal(t, exitOK, r.code, "audit verify: %s", r.stderr)
	first, _, _ := strings.Cut(r.stdout, "\n")
	rest, ok := strings.CutPrefix(first, "ok: ")
	require.True(t, ok, r.stdout)
	num, head, ok := strings.Cut(rest, " records, head ")
	require.True(t, ok, r.stdout)
	assert.Len(t, head, 64)
	n, err := strconv.Atoi(num)
	require.NoError(t, err, r.stdout)
	return n
}

// readAudit parses an audit log strictly: every line one record with the
// documented fields and nothing else.
func readAudit(t *testing.T, path string) []audit.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r audit.Record
		require.NoError(t, dec.Decode(&r), "audit line: %s", sc.Text())
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// lastRun returns the records of the last run in the log.
func lastRun(t *testing.T, recs []audit.Record) []audit.Record {
	t.Helper()
	require.NotEmpty(t, recs)
	id := recs[len(recs)-1].RunID
	var out []audit.Record
	for _, r := range recs {
		if r.RunID == id {
			out = append(out, r)
		}
	}
	return out
}

// trail is a run's records as "outcome target" strings, in order.
func trail(recs []audit.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = strings.TrimSpace(r.Outcome + " " + r.Target)
	}
	return out
}

// finalFor returns the last record of a run for target.
func finalFor(t *testing.T, recs []audit.Record, target string) audit.Record {
	t.Helper()
	var found *audit.Record
	for i := range recs {
		if recs[i].Target == target {
			found = &recs[i]
		}
	}
	require.NotNil(t, found, "no audit record for %s", target)
	return *found
}

// assertRunShape checks what every run has: a planned record first that
// lists the targets and names the run, records that share its run id and
// command, and a closing finished or aborted record.
func assertRunShape(t *testing.T, run []audit.Record, command, workspace string, targets []string, closing string) {
	t.Helper()
	require.GreaterOrEqual(t, len(run), 2)
	first, last := run[0], run[len(run)-1]
	assert.Equal(t, audit.OutcomePlanned, first.Outcome)
	assert.Equal(t, first.ID, first.RunID)
	assert.Equal(t, targets, first.Targets)
	assert.Equal(t, closing, last.Outcome, "closing record: %+v", last)
	for _, r := range run {
		assert.Equal(t, first.RunID, r.RunID)
		assert.Equal(t, command, r.Command)
		assert.Equal(t, workspace, r.Workspace)
		assert.NotEmpty(t, r.Actor)
		assert.False(t, r.Time.IsZero())
		assert.Len(t, r.Prev, 64)
		assert.NotNil(t, r.Evidence, "evidence is a list, never null")
	}
}

// evidenceName matches an evidence file's name: the run id, the target's
// position in the run, the target made safe for a file name, and when.
var evidenceName = regexp.MustCompile(`^(\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8})-(\d+)-([A-Za-z0-9._-]+)-(before|after)\.png$`)

// assertPNG checks that path is a PNG screenshot kept in dir and named
// after the run and the target.
func assertPNG(t *testing.T, path, dir, runID, target string) {
	t.Helper()
	assert.Equal(t, dir, filepath.Dir(path))
	m := evidenceName.FindStringSubmatch(filepath.Base(path))
	if assert.NotNil(t, m, "%s is named <run id>-<n>-<target>-<before|after>.png", path) {
		assert.Equal(t, runID, m[1], "%s is named after the run", path)
		assert.Equal(t, strings.NewReplacer("@", "-", "+", "-").Replace(target), m[3], "%s is named after %s", path, target)
	}
	data, err := os.ReadFile(path)
	if assert.NoError(t, err) {
		assert.True(t, bytes.HasPrefix(data, pngSignature), "%s is a PNG", path)
		assert.Greater(t, len(data), 1000, "%s is a real screenshot", path)
	}
}

// before decodes the "before" state of an audit record.
func before(t *testing.T, r audit.Record) (member *roster.Member, invitation *roster.Invitation) {
	t.Helper()
	if len(r.Before) == 0 || string(r.Before) == "null" {
		return nil, nil
	}
	var st struct {
		Member     *roster.Member     `json:"member"`
		Invitation *roster.Invitation `json:"invitation"`
	}
	require.NoError(t, json.Unmarshal(r.Before, &st))
	return st.Member, st.Invitation
}

// resultLine is one target's line of the JSON output.
type resultLine struct {
	Email    string   `json:"email"`
	Action   string   `json:"action"`
	Detail   string   `json:"detail"`
	Evidence []string `json:"evidence"`
}

// decodeResults parses -o json output strictly: one object with
// "results", each with exactly email, action, detail and evidence (a list,
// never null).
func decodeResults(t *testing.T, stdout string) []resultLine {
	t.Helper()
	var raw map[string][]map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(stdout), &raw), stdout)
	require.Len(t, raw, 1, "only \"results\": %s", stdout)
	require.Contains(t, raw, "results")
	for _, r := range raw["results"] {
		assert.ElementsMatch(t, []string{"email", "action", "detail", "evidence"}, keys(r))
		assert.True(t, bytes.HasPrefix(bytes.TrimSpace(r["evidence"]), []byte("[")), "evidence is a list: %s", r["evidence"])
	}
	var out struct {
		Results []resultLine `json:"results"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out))
	return out.Results
}

// tableLines splits table output into its lines, each with its fields:
// action, email, detail.
func tableLines(stdout string) [][]string {
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		f := strings.Fields(l)
		row := []string{f[0], f[1], strings.Join(f[2:], " ")}
		out = append(out, row)
	}
	return out
}

// serverMutations counts the mutations of kind the fixture answered with
// 2xx and otherwise, per target.
func serverMutations(srv *fixtures.Server, kind string) (ok, failed map[string]int) {
	ok, failed = map[string]int{}, map[string]int{}
	for _, m := range srv.Mutations() {
		if m.Kind != kind {
			continue
		}
		if m.Status >= 200 && m.Status < 300 {
			ok[strings.ToLower(m.Target)]++
		} else {
			failed[strings.ToLower(m.Target)]++
		}
	}
	return ok, failed
}

func serverHasMember(srv *fixtures.Server, email string) bool {
	for _, m := range srv.Members() {
		if roster.SameEmail(m.Email, email) {
			return true
		}
	}
	return false
}

func serverInvitation(srv *fixtures.Server, email string) (fixtures.Invitation, bool) {
	for _, i := range srv.Invitations() {
		if roster.SameEmail(i.Email, email) {
			return i, true
		}
	}
	return fixtures.Invitation{}, false
}

func serverRole(srv *fixtures.Server, email string) string {
	for _, m := range srv.Members() {
		if roster.SameEmail(m.Email, email) {
			return m.Role
		}
	}
	return ""
}

// evidenceFiles lists the files in the evidence directory.
func (m *mutEnv) evidenceFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(m.evidence)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestMutatingBadInputExitsTwoBeforeTheBrowser checks every mutating
// command's own input rules: exit 2 with one line on stderr, no browser,
// no audit record and no lock taken.
func TestMutatingBadInputExitsTwoBeforeTheBrowser(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	t.Setenv("CLAY_AUDIT_LOG", "")
	t.Setenv("CLAY_EVIDENCE_DIR", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	session := filepath.Join(dir, "session.json")
	writeState(t, session, time.Now().Add(time.Hour), 0o600)
	auditLog := filepath.Join(dir, "audit.jsonl")
	locks := filepath.Join(dir, "locks")
	list := filepath.Join(dir, "leavers.txt")
	require.NoError(t, os.WriteFile(list, []byte("# leavers\nok@acme.test\nnot an email\n"), 0o600))
	c := func(name string, extra ...string) []string {
		return append([]string{name, "--chrome", noBrowser, "--base-url", "http://127.0.0.1:9", "--workspace", "1234",
			"--session", session, "--audit-log", auditLog, "--lock-dir", locks,
			"--artifacts-dir", filepath.Join(dir, "artifacts")}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"offboard off a terminal without --yes", c("offboard", "--email", "a@acme.test"), []string{"not on a terminal", "--yes"}},
		{"revoke off a terminal without --yes", c("revoke", "--email", "a@acme.test"), []string{"--yes"}},
		{"invite off a terminal without --yes", c("invite", "--email", "a@acme.test"), []string{"--yes"}},
		{"set-role off a terminal without --yes", c("set-role", "--email", "a@acme.test", "--role", "viewer"), []string{"--yes"}},
		{"offboard without an email", c("offboard", "--yes"), []string{"no email given"}},
		{"offboard with an invalid email", c("offboard", "--yes", "--email", "john.smith"), []string{"invalid email address", "john.smith"}},
		{"offboard with a display name", c("offboard", "--yes", "--email", "John <john@acme.test>"), []string{"invalid email address", "display name", `give the bare address "john@acme.test"`}},
		{"offboard with an invalid line in --from-file", c("offboard", "--yes", "--from-file", list), []string{"invalid email address", "not an email"}},
		{"offboard with a missing --from-file", c("offboard", "--yes", "--from-file", filepath.Join(dir, "nope.txt")), []string{"--from-file", "nope.txt"}},
		{"offboard with --max-removals 0", c("offboard", "--yes", "--email", "a@acme.test", "--max-removals", "0"), []string{"--max-removals must be at least 1"}},
		{"offboard with --max-removals -1", c("offboard", "--yes", "--email", "a@acme.test", "--max-removals", "-1"), []string{"--max-removals"}},
		{"revoke with -o csv", c("revoke", "--yes", "--email", "a@acme.test", "-o", "csv"), []string{`unknown output format "csv"`, "table, json"}},
		{"offboard with an empty --allow-domain", c("offboard", "--yes", "--email", "a@acme.test", "--allow-domain", " "), []string{"--allow-domain"}},
		{"offboard with a negative --lock-timeout", c("offboard", "--yes", "--email", "a@acme.test", "--lock-timeout", "-1s"), []string{"--lock-timeout"}},
		{"offboard with a positional argument", c("offboard", "--yes", "a@acme.test"), []string{"takes no arguments"}},
		{"invite without an email", c("invite", "--yes"), []string{"--email is required"}},
		{"invite with an unknown role", c("invite", "--yes", "--email", "a@acme.test", "--role", "owner"), []string{"--role", "unknown role", "owner"}},
		{"invite with an invalid email", c("invite", "--yes", "--email", "a@@acme.test"), []string{"invalid email address"}},
		{"set-role without a role", c("set-role", "--yes", "--email", "a@acme.test"), []string{"--role is required"}},
		{"set-role with an unknown role", c("set-role", "--yes", "--email", "a@acme.test", "--role", "superuser"), []string{"unknown role"}},
		{"set-role without an email", c("set-role", "--yes", "--role", "viewer"), []string{"--email is required"}},
		{"set-role has no --max-removals", c("set-role", "--yes", "--email", "a@acme.test", "--role", "viewer", "--max-removals", "3"), []string{"unknown flag: --max-removals"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			lines := r.stderrLines()
			require.Len(t, lines, 1, "one line on stderr:\n%s", r.stderr)
			for _, w := range tc.want {
				assert.Contains(t, lines[0], w)
			}
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, noBrowser, "it must stop before the browser")
			assert.NoFileExists(t, auditLog, "bad input writes no audit record")
			assert.NoDirExists(t, locks, "bad input takes no lock")
		})
	}
}

// TestMutatingWithAnUnusableAuditKey: a key file that cannot be used, or a
// keyed log without its key, stops a mutating command with exit 2 before
// the browser and before any audit record, and never shows the key.
func TestMutatingWithAnUnusableAuditKey(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	t.Setenv("CLAY_AUDIT_LOG", "")
	t.Setenv("CLAY_EVIDENCE_DIR", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	session := filepath.Join(dir, "session.json")
	writeState(t, session, time.Now().Add(time.Hour), 0o600)
	openKey := writeKeyFile(t, filepath.Join(dir, "open-key"), testAuditKey, 0o644)
	shortKey := writeKeyFile(t, filepath.Join(dir, "short-key"), "KEYSECRET", 0o600)
	otherKey := writeKeyFile(t, filepath.Join(dir, "other-key"), strings.Repeat("o", 40), 0o600)
	keyed := filepath.Join(dir, "keyed.jsonl")
	keyedLines := writeKeyedAuditLog(t, keyed, []byte(testAuditKey), 2)
	c := func(auditLog string, extra ...string) []string {
		return append([]string{"offboard", "--yes", "--email", "a@acme.test", "--chrome", noBrowser,
			"--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", session,
			"--audit-log", auditLog, "--lock-dir", filepath.Join(dir, "locks"),
			"--artifacts-dir", filepath.Join(dir, "artifacts")}, extra...)
	}
	tests := []struct {
		name string
		log  string
		env  map[string]string
		args []string
		want []string
	}{
		{name: "key file readable by others", log: filepath.Join(dir, "a.jsonl"), args: []string{"--audit-key-file", openKey},
			want: []string{"--audit-key-file", openKey, "0644", "chmod 600"}},
		{name: "key file from the environment too short", log: filepath.Join(dir, "b.jsonl"), env: map[string]string{envAuditKeyFile: shortKey},
			want: []string{envAuditKeyFile, "at least 32"}},
		{name: "keyed log without its key", log: keyed, want: []string{"keyed", "--audit-key-file"}},
		{name: "keyed log with another key", log: keyed, args: []string{"--audit-key-file", otherKey}, want: []string{"does not match"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), tc.env, "", c(tc.log, tc.args...)...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			r.oneErrorLine(t, tc.want...)
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, noBrowser, "it must stop before the browser")
			assert.NotContains(t, r.stderr, "KEYSECRET", "the key never shows")
			if tc.log == keyed {
				assert.Len(t, readAudit(t, keyed), len(keyedLines), "nothing is appended to the keyed log")
			} else {
				assert.NoFileExists(t, tc.log, "no audit record")
			}
		})
	}
}

// TestAuditKeyAcrossCommands: mutating commands with a key sign every
// record; `agent audit verify --key-file` accepts the log, and catches a
// record appended without the key that the chain alone accepts.
func TestAuditKeyAcrossCommands(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	key := writeKeyFile(t, filepath.Join(m.Dir, "audit-key"), testAuditKey, 0o600)
	r := runCLI(t, "", m.cmd("invite", "--email", "keyed@acme.test", "--yes", "--audit-key-file", key)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runApp(t.Context(), map[string]string{envAuditKeyFile: key}, "", m.cmd("revoke", "--email", "keyed@acme.test", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	recs := m.records(t)
	require.NotEmpty(t, recs)
	for _, rec := range recs {
		assert.Len(t, rec.MAC, 64, "%s %s", rec.Outcome, rec.Target)
	}
	r = runCLI(t, "", "audit", "verify", "--audit-log", m.auditLog, "--key-file", key)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("MACs: valid on all %d records\n", len(recs)))

	// A record appended by someone without the key, with the right prev.
	data, err := os.ReadFile(m.auditLog)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	forged, err := json.Marshal(audit.Record{ID: "x", Command: "invite", Target: "mallory@evil.test", Outcome: "invited",
		Evidence: []string{}, Prev: chainHash(lines[len(lines)-1])})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(m.auditLog, append(append(data, forged...), '\n'), 0o600))
	assert.Equal(t, len(recs)+1, m.verifyAudit(t), "the chain alone accepts it")
	r = runCLI(t, "", "audit", "verify", "--audit-log", m.auditLog, "--key-file", key)
	assert.Equal(t, exitFailed, r.code)
	r.oneErrorLine(t, fmt.Sprintf("line %d", len(recs)+1), "carries no MAC")
}

// TestMutatingBadInputWithJSONOutput: -o json turns the usage error into
// one JSON line on stderr.
func TestMutatingBadInputWithJSONOutput(t *testing.T) {
	clearAgentEnv(t)
	r := runCLI(t, "", "offboard", "--chrome", noBrowser, "--workspace", "1234", "--email", "a@acme.test", "-o", "json")
	assert.Equal(t, exitUsage, r.code)
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
	assert.Equal(t, exitUsage, got.Error.ExitCode)
	assert.Equal(t, "usage", got.Error.Kind)
	assert.Contains(t, got.Error.Message, "--yes")
	assert.Empty(t, r.stdout)
}

// TestResultsExit checks the exit code of a batch: the worst outcome wins,
// and a failure's code comes from its cause.
func TestResultsExit(t *testing.T) {
	res := func(action flows.Action, err error) flows.Result {
		return flows.Result{Email: "a@acme.test", Action: action, Err: err}
	}
	tests := []struct {
		name    string
		results []flows.Result
		want    int
	}{
		{"nothing", nil, exitOK},
		{"changes and no-ops", []flows.Result{res(flows.Removed, nil), res(flows.AlreadyAbsent, nil), res(flows.Unchanged, nil), res(flows.AlreadyInvited, nil)}, exitOK},
		{"a dry run", []flows.Result{res(flows.WouldRemove, nil), res(flows.WouldRevoke, nil)}, exitOK},
		{"a failure without a known cause", []flows.Result{res(flows.Removed, nil), res(flows.Failed, errors.New("boom"))}, exitFailed},
		{"a failure without an error", []flows.Result{res(flows.Failed, nil)}, exitFailed},
		{"a page error", []flows.Result{res(flows.Failed, agent.ErrPageError)}, exitFailed},
		{"login required", []flows.Result{res(flows.Removed, nil), res(flows.Failed, agent.ErrLoginRequired)}, exitLogin},
		{"ambiguous rows", []flows.Result{res(flows.Failed, agent.ErrPageChanged)}, exitPageChanged},
		{"a refusal", []flows.Result{res(flows.Removed, nil), res(flows.Refused, agent.ErrRefused)}, exitRefused},
		{"not verified", []flows.Result{res(flows.Failed, agent.ErrNotVerified)}, exitNotVerified},
		{"the worst of several", []flows.Result{res(flows.Failed, agent.ErrLoginRequired), res(flows.Refused, agent.ErrRefused), res(flows.Failed, errors.New("x"))}, exitRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, resultsExit(tc.results))
		})
	}
}

// TestNotAttempted: a stopped run accounts for every target it did not
// reach; a run that was not stopped adds nothing.
func TestNotAttempted(t *testing.T) {
	done := []flows.Result{{Email: "a@acme.test", Action: flows.Removed}}
	targets := []string{"a@acme.test", "b@acme.test", "c@acme.test"}
	assert.Equal(t, done, engine.NotAttempted(done, targets, nil))
	stop := fmt.Errorf("%w: the session expired", agent.ErrLoginRequired)
	got := engine.NotAttempted(done, targets, stop)
	require.Len(t, got, 3)
	assert.Equal(t, flows.Removed, got[0].Action)
	for i, r := range got[1:] {
		assert.Equal(t, targets[i+1], r.Email)
		assert.Equal(t, flows.Failed, r.Action)
		assert.Contains(t, r.Detail, "not attempted")
		assert.ErrorIs(t, r.Err, agent.ErrLoginRequired)
	}
	assert.Equal(t, exitLogin, resultsExit(got))
}

// TestReadTargets: --email values first, then the file's lines without
// comments and blank lines; "-" reads standard input.
func TestReadTargets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "leavers.txt")
	require.NoError(t, os.WriteFile(file, []byte("# leavers, week 48\n\n  b@acme.test  \r\nc@acme.test # left on Friday\n   # indented comment\n\t\n"), 0o600))
	tests := []struct {
		name     string
		emails   []string
		fromFile string
		stdin    string
		want     []string
	}{
		{"flags only", []string{"a@acme.test"}, "", "", []string{"a@acme.test"}},
		{"flags and a file", []string{"a@acme.test"}, file, "", []string{"a@acme.test", "b@acme.test", "c@acme.test"}},
		{"standard input", nil, "-", "# list\nd@acme.test\n\ne@acme.test", []string{"d@acme.test", "e@acme.test"}},
		{"an empty file", nil, "-", "# nothing\n\n", []string{}},
		{"a # inside an address", nil, "-", "a#b@acme.test\nc@acme.test\t# note\n", []string{"a#b@acme.test", "c@acme.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(strings.NewReader(tc.stdin), io.Discard, io.Discard)
			got, err := a.readTargets(tc.emails, tc.fromFile, &mutateFlags{change: change{yes: true}})
			require.NoError(t, err)
			if len(tc.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
	a := newApp(strings.NewReader(""), io.Discard, io.Discard)
	_, err := a.readTargets(nil, filepath.Join(dir, "missing.txt"), &mutateFlags{change: change{yes: true}})
	assert.ErrorIs(t, err, agent.ErrUsage)
	_, err = a.readTargets(nil, "-", &mutateFlags{})
	assert.ErrorIs(t, err, agent.ErrUsage, "standard input cannot hold both the targets and the answer")
	assert.Contains(t, err.Error(), "--yes")
}

// TestConfirm: only "y" or "yes" (any case) confirms.
func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   bool
	}{
		{"y\n", true}, {"YES\n", true}, {"  yes  \n", true}, {"Y", true},
		{"n\n", false}, {"\n", false}, {"", false}, {"yep\n", false}, {"no\n", false},
	} {
		var stderr bytes.Buffer
		a := newApp(strings.NewReader(tc.answer), io.Discard, &stderr)
		yes, err := a.confirm(context.Background(), "Proceed?", time.Minute)
		assert.NoError(t, err)
		assert.Equal(t, tc.want, yes, "%q", tc.answer)
		assert.Equal(t, "Proceed? [y/N] ", stderr.String())
	}
}

// TestConfirmTimesOut: no answer within the timeout is no, with an error
// that says so; the prompt does not hold the workspace lock forever.
func TestConfirmTimesOut(t *testing.T) {
	pr, pw := io.Pipe() // a terminal nobody types into
	defer pw.Close()
	var stderr bytes.Buffer
	a := newApp(pr, io.Discard, &stderr)
	yes, err := a.confirm(context.Background(), "Proceed?", 50*time.Millisecond)
	assert.False(t, yes)
	assert.ErrorIs(t, err, errNoAnswer)
}

// TestLockHeldByAnotherRun holds the workspace's lock in the test, the way
// a concurrent run would: offboard waits --lock-timeout, exits 1 naming the
// holder's pid, and touches nothing; once the lock is free it runs.
func TestLockHeldByAnotherRun(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	held, err := lock.Acquire(context.Background(), lock.PathFor(m.locks, m.Server.Workspace()), 0)
	require.NoError(t, err)
	released := false
	t.Cleanup(func() {
		if !released {
			_ = held.Release()
		}
	})

	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			r := runCLI(t, "", m.cmd("offboard", "--email", "john.smith@acme.test", "--yes", "--lock-timeout", "300ms", "-o", format)...)
			assert.Equal(t, exitFailed, r.code, r.stderr)
			assert.GreaterOrEqual(t, r.elapsed, 300*time.Millisecond, "it waits --lock-timeout")
			assert.Less(t, r.elapsed, time.Minute, "it gives up instead of waiting for the holder")
			assert.Contains(t, r.stderr, "pid "+strconv.Itoa(os.Getpid()), "the message names the holder")
			assert.Contains(t, r.stderr, "lock")
			assert.Empty(t, r.stdout)
			if format == "json" {
				lines := r.stderrLines()
				require.Len(t, lines, 1)
				assert.Contains(t, lines[0], `"exit_code":1`)
			}
			assert.Empty(t, m.Server.Mutations())
			assert.True(t, serverHasMember(m.Server, "john.smith@acme.test"))
			assert.NoFileExists(t, m.auditLog, "a run that never got the lock changes nothing")
		})
	}

	require.NoError(t, held.Release())
	released = true
	r := runCLI(t, "", m.cmd("offboard", "--email", "john.smith@acme.test", "--yes", "--lock-timeout", "300ms")...)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.False(t, serverHasMember(m.Server, "john.smith@acme.test"))
	again, err := lock.Acquire(context.Background(), lock.PathFor(m.locks, m.Server.Workspace()), 0)
	require.NoError(t, err, "the run released the lock")
	require.NoError(t, again.Release())
}

// TestLockWaitsForARunThatFinishes: a run that frees the lock within
// --lock-timeout lets the waiting run go ahead.
func TestLockWaitsForARunThatFinishes(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	held, err := lock.Acquire(context.Background(), lock.PathFor(m.locks, m.Server.Workspace()), 0)
	require.NoError(t, err)
	go func() {
		time.Sleep(700 * time.Millisecond)
		_ = held.Release()
	}()
	r := runCLI(t, "", m.cmd("revoke", "--email", "pending.one@acme.test", "--yes", "--lock-timeout", "20s")...)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.GreaterOrEqual(t, r.elapsed, 700*time.Millisecond)
	_, invited := serverInvitation(m.Server, "pending.one@acme.test")
	assert.False(t, invited)
}

// TestDefaultLocationsUnderTheStateDirectory: without --audit-log,
// --evidence-dir and --lock-dir, everything goes under XDG_STATE_HOME; the
// actor is $USER.
func TestDefaultLocationsUnderTheStateDirectory(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	state := filepath.Join(m.Dir, "xdg")
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("USER", "tester")
	args := append([]string{"offboard"}, m.globals()...)
	args = append(args, "--timeout", "5s", "--email", "bob.oneil@acme.test", "--yes")
	r := runCLI(t, "", args...)
	require.Equal(t, exitOK, r.code, r.stderr)

	logPath := filepath.Join(state, "clay-agent", "audit.jsonl")
	recs := readAudit(t, logPath)
	run := lastRun(t, recs)
	assertRunShape(t, run, "offboard", "1234", []string{"bob.oneil@acme.test"}, audit.OutcomeFinished)
	for _, rec := range run {
		assert.Equal(t, "tester", rec.Actor)
	}
	removed := finalFor(t, run, "bob.oneil@acme.test")
	require.Len(t, removed.Evidence, 2)
	for _, p := range removed.Evidence {
		assertPNG(t, p, filepath.Join(state, "clay-agent", "evidence"), run[0].RunID, "bob.oneil@acme.test")
	}
	assert.FileExists(t, lock.PathFor(filepath.Join(state, "clay-agent", "locks"), "1234"))
	if fi, err := os.Stat(logPath); assert.NoError(t, err) {
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the audit log is private")
	}
}

// TestEnvironmentNamesTheAuditLogAndEvidence: CLAY_AUDIT_LOG and
// CLAY_EVIDENCE_DIR stand in for the flags, and --actor names the actor.
func TestEnvironmentNamesTheAuditLogAndEvidence(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	logPath := filepath.Join(m.Dir, "env-audit.jsonl")
	evDir := filepath.Join(m.Dir, "env-evidence")
	env := map[string]string{"CLAY_AUDIT_LOG": logPath, "CLAY_EVIDENCE_DIR": evDir}
	args := append([]string{"offboard"}, m.globals()...)
	args = append(args, "--timeout", "5s", "--lock-dir", m.locks, "--email", "al@acme.test", "--yes", "--actor", "ops-bot")
	r := runApp(context.Background(), env, "", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	run := lastRun(t, readAudit(t, logPath))
	for _, rec := range run {
		assert.Equal(t, "ops-bot", rec.Actor)
	}
	removed := finalFor(t, run, "al@acme.test")
	assert.Equal(t, "removed", removed.Outcome)
	require.Len(t, removed.Evidence, 2)
	for _, p := range removed.Evidence {
		assertPNG(t, p, evDir, run[0].RunID, "al@acme.test")
	}
	assert.True(t, serverHasMember(m.Server, "sal@acme.test"), "al@ never matches sal@")
	assert.NoFileExists(t, m.auditLog)
}

// TestAuditChainAcrossCommands runs every mutating command against one
// log; `agent audit verify` accepts the chain and counts every record,
// and an edited record breaks it.
func TestAuditChainAcrossCommands(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	runs := [][]string{
		m.cmd("invite", "--email", "chain@acme.test", "--yes"),
		m.cmd("set-role", "--email", "john.smith@acme.test", "--role", "viewer", "--yes"),
		m.cmd("revoke", "--email", "chain@acme.test", "--yes"),
		m.cmd("offboard", "--email", "john.smith@acme.test", "--yes", "--dry-run"),
		m.cmd("offboard", "--email", "admin@acme.test", "--yes"),
	}
	wantCodes := []int{exitOK, exitOK, exitOK, exitOK, exitRefused}
	for i, args := range runs {
		r := runCLI(t, "", args...)
		require.Equal(t, wantCodes[i], r.code, "%v: %s", args[:1], r.stderr)
	}
	recs := m.records(t)
	assert.Equal(t, len(recs), m.verifyAudit(t))
	commands := map[string]int{}
	for _, r := range recs {
		if r.Outcome == audit.OutcomePlanned {
			commands[r.Command]++
		}
	}
	assert.Equal(t, map[string]int{"invite": 1, "set-role Viewer": 1, "revoke": 1, "offboard --dry-run": 1, "offboard": 1}, commands)

	data, err := os.ReadFile(m.auditLog)
	require.NoError(t, err)
	edited := bytes.Replace(data, []byte(`"outcome":"refused"`), []byte(`"outcome":"removed"`), 1)
	require.NotEqual(t, data, edited)
	require.NoError(t, os.WriteFile(m.auditLog, edited, 0o600))
	r := runCLI(t, "", "audit", "verify", "--audit-log", m.auditLog)
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "prev does not match")
}

// TestCancelledRunRecordsWhatWasNotDone cancels a run (as Ctrl-C does)
// while it reads the page: it exits non-zero, and the audit log says that
// no target was attempted and that the run was aborted.
func TestCancelledRunRecordsWhatWasNotDone(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	m.Server.SetFaults(fixtures.Faults{RowDelay: 2 * time.Minute})
	w := watchBrowsers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	targets := []string{"john.smith@acme.test", "bob.oneil@acme.test"}
	res := make(chan cliResult, 1)
	go func() {
		res <- runApp(ctx, nil, "", m.cmd("offboard", "--email", targets[0], "--email", targets[1], "--yes", "-o", "json")...)
	}()
	w.started(t, time.Minute)
	rowsHeld(t, m.Server)
	cancel()
	var r cliResult
	select {
	case r = <-res:
	case <-time.After(time.Minute):
		t.Fatal("offboard did not return within a minute of the cancellation")
	}
	assert.NotEqual(t, exitOK, r.code)
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 2, "every target is accounted for")
	for _, res := range results {
		assert.Equal(t, "failed", res.Action)
		assert.Contains(t, res.Detail, "not attempted")
	}
	assert.Empty(t, m.Server.Mutations())
	run := lastRun(t, m.records(t))
	assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeAborted)
	assert.Equal(t, []string{"planned", "not-attempted john.smith@acme.test", "not-attempted bob.oneil@acme.test", "aborted"}, trail(run))
	assert.Contains(t, run[len(run)-1].Detail, "context canceled")
	m.verifyAudit(t)
	w.assertNoneLeft(t)
}

// killBrowsers kills, by pid, the browser processes a browserWatch
// recognizes as the test's own.
func killBrowsers(t *testing.T, w *browserWatch) int {
	t.Helper()
	n := 0
	for pid := range liveProcs(w.marker) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// TestChromeKilledWhileReadingThePage kills the browser while offboard
// waits for the rows: a clear error, exit 1, and an audit record of every
// target as not attempted.
func TestChromeKilledWhileReadingThePage(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	m.Server.SetFaults(fixtures.Faults{RowDelay: 2 * time.Minute})
	w := watchBrowsers(t)
	targets := []string{"john.smith@acme.test", "bob.oneil@acme.test"}
	res := make(chan cliResult, 1)
	go func() {
		res <- runCLI(t, "", m.cmd("offboard", "--email", targets[0], "--email", targets[1], "--yes", "--timeout", "3m")...)
	}()
	w.started(t, time.Minute)
	rowsHeld(t, m.Server)
	require.Positive(t, killBrowsers(t, w))
	var r cliResult
	select {
	case r = <-res:
	case <-time.After(time.Minute):
		t.Fatal("offboard did not return within a minute of the browser's death")
	}
	assert.Equal(t, exitFailed, r.code, r.stderr)
	assert.Contains(t, r.stderr, "browser", "the error says what happened")
	lines := tableLines(r.stdout)
	require.Len(t, lines, 2, r.stdout)
	for i, l := range lines {
		assert.Equal(t, []string{"failed", targets[i]}, l[:2])
		assert.Contains(t, l[2], "not attempted")
	}
	assert.Empty(t, m.Server.Mutations())
	run := lastRun(t, m.records(t))
	assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeAborted)
	assert.Equal(t, []string{"planned", "not-attempted " + targets[0], "not-attempted " + targets[1], "aborted"}, trail(run))
	assert.Contains(t, run[len(run)-1].Detail, "browser")
	m.verifyAudit(t)
}

// TestChromeKilledInTheMiddleOfABatch kills the browser after the first
// target's removal was confirmed and answered 500, while the retry reloads
// the page: the first target is reported failed (clicked, not verified),
// the others not attempted, and the run aborted.
func TestChromeKilledInTheMiddleOfABatch(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	m.Server.SetFaults(fixtures.Faults{FailMutations: 1})
	w := watchBrowsers(t)
	targets := []string{"john.smith@acme.test", "bob.oneil@acme.test", "priya.nair@acme.test"}
	res := make(chan cliResult, 1)
	go func() {
		res <- runCLI(t, "", m.cmd("offboard", "--email", targets[0], "--email", targets[1], "--email", targets[2],
			"--yes", "--timeout", "15s", "-o", "json")...)
	}()
	// once the 500 is out, hold the retry's fresh read of the page
	require.Eventually(t, func() bool {
		_, failed := serverMutations(m.Server, "remove")
		return failed[targets[0]] == 1
	}, 20*time.Second, 10*time.Millisecond, "the first removal never reached the server")
	m.Server.SetFaults(fixtures.Faults{RowDelay: 2 * time.Minute})
	rowsHeld(t, m.Server)
	require.Positive(t, killBrowsers(t, w))
	var r cliResult
	select {
	case r = <-res:
	case <-time.After(time.Minute):
		t.Fatal("offboard did not return within a minute of the browser's death")
	}
	assert.Contains(t, []int{exitFailed, exitNotVerified}, r.code, r.stderr)
	assert.Contains(t, r.stderr, "browser")
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 3)
	assert.Equal(t, "failed", results[0].Action)
	for _, res := range results[1:] {
		assert.Equal(t, "failed", res.Action)
		assert.Contains(t, res.Detail, "not attempted")
	}
	ok, _ := serverMutations(m.Server, "remove")
	assert.Empty(t, ok, "nothing was removed")

	run := lastRun(t, m.records(t))
	assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeAborted)
	assert.Equal(t, []string{
		"planned",
		"started " + targets[0],
		"failed " + targets[0],
		"not-attempted " + targets[1],
		"not-attempted " + targets[2],
		"aborted",
	}, trail(run))
	first := finalFor(t, run, targets[0])
	mem, _ := before(t, first)
	require.NotNil(t, mem)
	assert.Equal(t, "Smith, John", mem.Name)
	require.NotEmpty(t, first.Evidence, "the screenshot before the click is kept")
	assertPNG(t, first.Evidence[0], m.evidence, run[0].RunID, targets[0])
	m.verifyAudit(t)
}

// openTerminal opens a pseudo-terminal and returns its controlling side
// and the terminal a command reads as standard input. What the command
// echoes is drained.
func openTerminal(t *testing.T) (ctl, term *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { _ = ctl.Close() })
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("naming the pseudo-terminal: %v", err)
	}
	term, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = term.Close() })
	go func() { _, _ = io.Copy(io.Discard, ctl) }()
	return ctl, term
}

// TestConfirmationOnATerminal: on a terminal, without --yes, offboard
// shows the plan read from the live page and asks, both on stderr; only a
// yes changes anything, and a no leaves an aborted run in the audit log.
// Standard output carries the results alone, so -o json stays JSON.
func TestConfirmationOnATerminal(t *testing.T) {
	plan := "would-remove  john.smith@acme.test  would remove Smith, John (Editor)\n"
	tests := []struct {
		name    string
		answer  string
		output  string
		code    int
		stdout  string
		trail   []string
		removed bool
	}{
		{
			name: "no", answer: "n\n", output: "table", code: exitFailed, stdout: "",
			trail: []string{"planned", "not-attempted john.smith@acme.test", "aborted"},
		},
		{
			name: "yes", answer: "yes\n", output: "table", code: exitOK,
			stdout:  "removed  john.smith@acme.test  removed Smith, John (Editor)\n",
			trail:   []string{"planned", "started john.smith@acme.test", "removed john.smith@acme.test", "finished"},
			removed: true,
		},
		{
			name: "yes with JSON output", answer: "y\n", output: "json", code: exitOK,
			trail:   []string{"planned", "started john.smith@acme.test", "removed john.smith@acme.test", "finished"},
			removed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
			ctl, term := openTerminal(t)
			_, err := ctl.WriteString(tc.answer)
			require.NoError(t, err)
			var stdout, stderr bytes.Buffer
			code := run(m.cmd("offboard", "--email", "john.smith@acme.test", "-o", tc.output), term, &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.True(t, strings.HasPrefix(stderr.String(), plan+"Proceed with offboard on workspace 1234? [y/N] "),
				"the plan, then the question, on stderr: %q", stderr.String())
			if tc.output == "json" {
				results := decodeResults(t, stdout.String())
				require.Len(t, results, 1)
				assert.Equal(t, "removed", results[0].Action)
			} else {
				assert.Equal(t, tc.stdout, stdout.String())
			}
			assert.Equal(t, !tc.removed, serverHasMember(m.Server, "john.smith@acme.test"))
			recs := lastRun(t, m.records(t))
			assert.Equal(t, tc.trail, trail(recs))
			if !tc.removed {
				assert.Contains(t, stderr.String(), "not confirmed: nothing was changed")
				assert.Contains(t, recs[len(recs)-1].Detail, "not confirmed")
				assert.Empty(t, m.Server.Mutations())
			}
		})
	}
}

// TestInterruptAtThePrompt: Ctrl-C while the question waits for an answer
// ends the run promptly, with nothing changed and the run recorded as
// aborted.
func TestInterruptAtThePrompt(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	_, term := openTerminal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		a := newApp(term, &stdout, &stderr)
		err := a.execute(ctx, m.cmd("offboard", "--email", "john.smith@acme.test"))
		code := exitCode(err)
		if err != nil {
			a.reportError(err, code)
		}
		done <- code
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "[y/N]") }, 20*time.Second, 20*time.Millisecond, "no question asked")
	cancel()
	select {
	case code := <-done:
		assert.NotEqual(t, exitOK, code)
	case <-time.After(5 * time.Second):
		t.Fatal("the question ignores Ctrl-C: still waiting 5s after the interrupt")
	}
	assert.Empty(t, m.Server.Mutations())
	recs := lastRun(t, m.records(t))
	assert.Equal(t, []string{"planned", "not-attempted john.smith@acme.test", "aborted"}, trail(recs))
	assert.Contains(t, recs[len(recs)-1].Detail, "interrupted at the confirmation")
	assert.Contains(t, stderr.String(), "nothing was changed")
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
