package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openTemp opens a log in a fresh directory.
func openTemp(t *testing.T, opts ...Option) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "clay-agent", "audit.jsonl")
	l, err := Open(path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l, path
}

// appendN appends n records for targets user0@x.test, user1@x.test, ...
func appendN(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		_, err := l.Append(Record{Command: "offboard", Target: fmt.Sprintf("user%d@x.test", i), Outcome: OutcomeRemoved})
		require.NoError(t, err)
	}
}

// readLines returns the file's lines without their newlines.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasSuffix(b, []byte("\n")), "the log ends with a newline")
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func joinLines(lines [][]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

func decode(t *testing.T, line []byte) Record {
	t.Helper()
	var r Record
	require.NoError(t, json.Unmarshal(line, &r))
	return r
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	l, path := openTemp(t)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	assert.Equal(t, path, l.Path())
}

func TestAppendFillsFields(t *testing.T) {
	clock := time.Date(2026, 11, 29, 22, 15, 0, 0, time.FixedZone("CET", 3600))
	l, path := openTemp(t, WithActor("alice"), WithWorkspace("1234"), WithClock(func() time.Time { return clock }))

	first, err := l.Append(Record{Command: "offboard", Target: "bob@x.test", Outcome: OutcomeRemoved,
		Before: json.RawMessage(`{"member": {"email": "bob@x.test", "role": "Admin"}}`)})
	require.NoError(t, err)
	assert.Regexp(t, `^20261129T211500\.000Z-[0-9a-f]{8}$`, first.ID)
	assert.Equal(t, clock.UTC(), first.Time)
	assert.Equal(t, "alice", first.Actor)
	assert.Equal(t, "1234", first.Workspace)
	assert.Equal(t, Genesis, first.Prev)
	assert.Equal(t, []string{}, first.Evidence)

	second, err := l.Append(Record{Actor: "bob", Workspace: "99", Command: "list", Outcome: "listed", Prev: "bogus"})
	require.NoError(t, err)
	assert.Equal(t, "bob", second.Actor, "a given actor is kept")
	assert.Equal(t, "99", second.Workspace, "a given workspace is kept")
	assert.NotEqual(t, "bogus", second.Prev, "prev always comes from the file")

	lines := readLines(t, path)
	require.Len(t, lines, 2)
	assert.Equal(t, hashLine(lines[0]), second.Prev)
	stored := decode(t, lines[0])
	assert.Equal(t, first.ID, stored.ID)
	assert.JSONEq(t, `{"member":{"email":"bob@x.test","role":"Admin"}}`, string(stored.Before))
	assert.NotContains(t, string(lines[0]), "\n")

	var fields map[string]any
	require.NoError(t, json.Unmarshal(lines[1], &fields))
	for _, k := range []string{"id", "time", "actor", "workspace", "command", "target", "before", "outcome", "detail", "evidence", "prev"} {
		assert.Contains(t, fields, k)
	}
	assert.Nil(t, fields["before"], "no state before is null")
}

func TestNewIDIsUniqueAndSortable(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := NewID()
		assert.Regexp(t, `^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$`, id)
		assert.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
		assert.GreaterOrEqual(t, id[:19], prev, "time part never goes back")
		prev = id[:19]
	}
	assert.Less(t, newID(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), newID(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)))
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
	}{
		{"xdg state home", "/xdg/state", "/home/u", "/xdg/state/clay-agent/audit.jsonl"},
		{"relative xdg is ignored", "rel/state", "/home/u", "/home/u/.local/state/clay-agent/audit.jsonl"},
		{"home", "", "/home/u", "/home/u/.local/state/clay-agent/audit.jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			assert.Equal(t, tt.want, DefaultPath())
		})
	}
}

func TestAppendAfterClose(t *testing.T) {
	l, _ := openTemp(t)
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	_, err := l.Append(Record{Outcome: "x"})
	assert.True(t, errors.Is(err, os.ErrClosed), "got %v", err)
}

func TestVerify(t *testing.T) {
	l, path := openTemp(t)
	appendN(t, l, 5)
	good := readLines(t, path)
	require.Len(t, good, 5)

	edited := func() [][]byte {
		out := append([][]byte(nil), good...)
		out[1] = bytes.Replace(good[1], []byte("user1@x.test"), []byte("mallory@x.test"), 1)
		return out
	}
	reordered := [][]byte{good[0], good[2], good[1], good[3], good[4]}
	deleted := [][]byte{good[0], good[1], good[3], good[4]}
	deletedFirst := good[1:]
	bad := func(i int, s string) [][]byte {
		out := append([][]byte(nil), good...)
		out[i] = []byte(s)
		return out
	}

	tests := []struct {
		name     string
		content  []byte
		wantN    int
		wantLine int // 0: no error
		wantMsg  string
		torn     bool
	}{
		{name: "good chain", content: joinLines(good), wantN: 5},
		{name: "empty log", content: nil, wantN: 0},
		{name: "no trailing newline on a complete last line", content: bytes.TrimSuffix(joinLines(good), []byte("\n")), wantN: 5},
		{name: "edited line", content: joinLines(edited()), wantN: 2, wantLine: 3, wantMsg: "prev does not match the SHA-256 of line 2"},
		{name: "deleted line", content: joinLines(deleted), wantN: 2, wantLine: 3, wantMsg: "prev does not match"},
		{name: "deleted first line", content: joinLines(deletedFirst), wantN: 0, wantLine: 1, wantMsg: "removed from the start"},
		{name: "reordered lines", content: joinLines(reordered), wantN: 1, wantLine: 2, wantMsg: "prev does not match the SHA-256 of line 1"},
		{name: "torn last line", content: append(joinLines(good), good[0][:40]...), wantN: 5, wantLine: 6, wantMsg: "incomplete record", torn: true},
		{name: "not json", content: joinLines(bad(2, "hello")), wantN: 2, wantLine: 3, wantMsg: "not a valid record"},
		{name: "empty line", content: joinLines(bad(3, "")), wantN: 3, wantLine: 4, wantMsg: "empty line"},
		{name: "malformed prev", content: joinLines(bad(1, `{"id":"x","prev":"abc"}`)), wantN: 1, wantLine: 2, wantMsg: "not a SHA-256 hex digest"},
		{name: "trailing garbage", content: joinLines(bad(4, string(good[4])+" {}")), wantN: 4, wantLine: 5, wantMsg: "unexpected data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Verify(bytes.NewReader(tt.content))
			assert.Equal(t, tt.wantN, n)
			if tt.wantLine == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrTampered), "got %v", err)
			assert.Equal(t, tt.torn, errors.Is(err, ErrTorn))
			var verr *VerifyError
			require.True(t, errors.As(err, &verr))
			assert.Equal(t, tt.wantLine, verr.Line)
			assert.Contains(t, err.Error(), fmt.Sprintf("line %d: ", tt.wantLine))
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestVerifyChainHeadDetectsChangesAtTheEnd(t *testing.T) {
	l, path := openTemp(t)
	appendN(t, l, 3)
	lines := readLines(t, path)

	s, err := VerifyChain(bytes.NewReader(joinLines(lines)))
	require.NoError(t, err)
	assert.Equal(t, 3, s.Lines)
	assert.Equal(t, hashLine(lines[2]), s.Head)

	next, err := l.Append(Record{Outcome: "x"})
	require.NoError(t, err)
	assert.Equal(t, s.Head, next.Prev, "the head is the next record's prev")

	// Cutting or editing the last line keeps the chain valid but changes
	// the head, which is why the head is worth keeping elsewhere.
	for _, changed := range [][][]byte{
		lines[:2],
		{lines[0], lines[1], bytes.Replace(lines[2], []byte("removed"), []byte("refused"), 1)},
	} {
		s2, err := VerifyChain(bytes.NewReader(joinLines(changed)))
		require.NoError(t, err)
		assert.NotEqual(t, s.Head, s2.Head)
	}

	empty, err := VerifyChain(strings.NewReader(""))
	require.NoError(t, err)
	assert.Equal(t, Summary{Lines: 0, Head: Genesis}, empty)
}

func TestVerifyFile(t *testing.T) {
	l, path := openTemp(t)
	appendN(t, l, 4)
	n, err := VerifyFile(path)
	require.NoError(t, err)
	assert.Equal(t, 4, n)

	_, err = VerifyFile(filepath.Join(t.TempDir(), "missing.jsonl"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "got %v", err)
	assert.False(t, errors.Is(err, ErrTampered))

	lines := readLines(t, path)
	lines[0] = bytes.Replace(lines[0], []byte("user0"), []byte("userX"), 1)
	require.NoError(t, os.WriteFile(path, joinLines(lines), 0o600))
	n, err = VerifyFile(path)
	assert.Equal(t, 1, n)
	assert.True(t, errors.Is(err, ErrTampered))
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "line 2:")
}

func TestAppendSealsATornLine(t *testing.T) {
	l, path := openTemp(t)
	appendN(t, l, 3)
	require.NoError(t, l.Close())

	// A crash mid-write: part of a record, no newline.
	torn := []byte(`{"id":"20261129T221500.000Z-deadbeef","time":"2026-11-29T22:15:00Z","actor":"al`)
	appendRaw(t, path, torn)

	l2, err := Open(path, WithActor("carol-admin"))
	require.NoError(t, err)
	defer func() { _ = l2.Close() }()
	rec, err := l2.Append(Record{Command: "offboard", Target: "carol@x.test", Outcome: OutcomeRemoved})
	require.NoError(t, err)
	_, err = l2.Append(Record{Command: "offboard", Target: "dave@x.test", Outcome: OutcomeRemoved})
	require.NoError(t, err)

	lines := readLines(t, path)
	require.Len(t, lines, 7, "the torn line ends, then a recovered record, then ours")
	assert.Equal(t, torn, lines[3], "the torn bytes are left as they were")
	seal := decode(t, lines[4])
	assert.Equal(t, OutcomeRecovered, seal.Outcome)
	assert.Equal(t, hashLine(torn), seal.Prev, "the recovered record chains to the torn bytes")
	assert.Contains(t, seal.Detail, fmt.Sprintf("torn line of %d bytes at line 4", len(torn)))
	assert.Equal(t, "carol-admin", seal.Actor)
	assert.Equal(t, "offboard", seal.Command)
	assert.Empty(t, seal.Target)
	assert.Equal(t, hashLine(lines[4]), rec.Prev, "the record chains to the recovered record")
	assert.Equal(t, "carol@x.test", decode(t, lines[5]).Target)
	assert.Equal(t, hashLine(lines[5]), decode(t, lines[6]).Prev)

	s, err := VerifyChainFile(path)
	require.NoError(t, err)
	assert.Equal(t, Summary{Lines: 7, Head: hashLine(lines[6]), Sealed: 1}, s)
}

func TestAppendAfterACompleteUnterminatedLine(t *testing.T) {
	l, path := openTemp(t)
	appendN(t, l, 2)
	require.NoError(t, l.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.TrimSuffix(b, []byte("\n")), 0o600))

	l2, err := Open(path)
	require.NoError(t, err)
	defer func() { _ = l2.Close() }()
	_, err = l2.Append(Record{Outcome: "x"})
	require.NoError(t, err)
	lines := readLines(t, path)
	require.Len(t, lines, 3, "a complete record only needs its newline: nothing to seal")
	s, err := VerifyChainFile(path)
	require.NoError(t, err)
	assert.Equal(t, 0, s.Sealed)
}

// appendRaw appends bytes to the file at path as they are.
func appendRaw(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestLastLine(t *testing.T) {
	long := strings.Repeat("x", 3*tailChunk+17)
	tests := []struct {
		name       string
		content    string
		want       string
		wantNil    bool
		terminated bool
	}{
		{name: "empty", content: "", wantNil: true, terminated: true},
		{name: "one line", content: "a\n", want: "a", terminated: true},
		{name: "two lines", content: "a\nbc\n", want: "bc", terminated: true},
		{name: "torn", content: "a\nbc", want: "bc", terminated: false},
		{name: "long line spanning chunks", content: "a\n" + long + "\n", want: long, terminated: true},
		{name: "long first line", content: long + "\n", want: long, terminated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			f, err := os.Open(path)
			require.NoError(t, err)
			defer func() { _ = f.Close() }()
			line, start, terminated, err := lastLine(f)
			require.NoError(t, err)
			assert.Equal(t, tt.terminated, terminated)
			if tt.wantNil {
				assert.Nil(t, line)
				return
			}
			assert.Equal(t, tt.want, string(line))
			assert.Equal(t, tt.content[start:start+int64(len(line))], string(line), "the line starts at start")
		})
	}
}

func TestConcurrentAppendsFromGoroutines(t *testing.T) {
	l, path := openTemp(t)
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := l.Append(Record{Command: "offboard", Target: fmt.Sprintf("w%d-%d@x.test", w, i), Outcome: OutcomeRemoved})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()

	n, err := VerifyFile(path)
	require.NoError(t, err)
	assert.Equal(t, workers*each, n)
	targets := map[string]bool{}
	for _, line := range readLines(t, path) {
		targets[decode(t, line).Target] = true
	}
	assert.Len(t, targets, workers*each, "every record is there once")
}

func TestConcurrentAppendsFromTwoLogsOnOneFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	const logs, each = 4, 50
	var wg sync.WaitGroup
	for i := range logs {
		l, err := Open(path, WithActor(fmt.Sprintf("log%d", i)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = l.Close() })
		wg.Go(func() {
			for j := range each {
				_, err := l.Append(Record{Command: "invite", Target: fmt.Sprintf("%d-%d", i, j), Outcome: "invited"})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	n, err := VerifyFile(path)
	require.NoError(t, err)
	assert.Equal(t, logs*each, n)
}

// helperEnv turns the test binary into a process that appends to a log.
const helperEnv = "CLAY_AUDIT_TEST_APPEND"

// TestHelperAppend is not a test: run as a child process with helperEnv
// set to "path:count", it appends count records to the log at path.
func TestHelperAppend(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process only")
	}
	i := strings.LastIndexByte(spec, ':')
	count, err := strconv.Atoi(spec[i+1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	l, err := Open(spec[:i], WithActor(fmt.Sprintf("pid%d", os.Getpid())))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for j := range count {
		if _, err := l.Append(Record{Command: "invite", Target: strconv.Itoa(j), Outcome: "invited"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	_ = l.Close()
	os.Exit(0)
}

func TestConcurrentAppendsFromProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	const procs, each = 3, 60
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppend$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d", helperEnv, path, each))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if stderr.Len() > 0 {
				t.Logf("helper: %s", stderr.String())
			}
		})
	}
	// This process appends too, at the same time.
	l, err := Open(path, WithActor("parent"))
	require.NoError(t, err)
	appendN(t, l, each)
	require.NoError(t, l.Close())
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}

	n, err := VerifyFile(path)
	require.NoError(t, err)
	assert.Equal(t, (procs+1)*each, n)
	perActor := map[string]int{}
	for _, line := range readLines(t, path) {
		perActor[decode(t, line).Actor]++
	}
	assert.Len(t, perActor, procs+1)
	for actor, c := range perActor {
		assert.Equal(t, each, c, actor)
	}
}

// TestOpenRefusesWhatIsNoFileOfTheUser: a symbolic link, a device, a
// directory or another user's file is never appended to.
func TestOpenRefusesWhatIsNoFileOfTheUser(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.txt")
	require.NoError(t, os.WriteFile(victim, []byte("keep me\n"), 0o600))
	link := filepath.Join(dir, "link.jsonl")
	require.NoError(t, os.Symlink(victim, link))
	dangling := filepath.Join(dir, "dangling.jsonl")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere.jsonl"), dangling))
	cases := map[string]string{"link": link, "dangling link": dangling, "device": "/dev/null", "directory": dir}
	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "other.jsonl")
		require.NoError(t, os.WriteFile(other, nil, 0o600))
		require.NoError(t, os.Chown(other, 65534, 65534))
		cases["another user's file"] = other
	} else {
		t.Log("not root: the case of another user's file needs chown")
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := Open(path, WithActor("ops"), WithWorkspace("1234"))
			if l != nil {
				_ = l.Close()
			}
			assert.ErrorIs(t, err, ErrNotRegular)
		})
	}
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(data))
	_, err = os.Lstat(filepath.Join(dir, "nowhere.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a dangling link does not create its target")
}
