package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/secret"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef-test-key")
	otherKey = []byte("another key of at least thirty-two bytes")
)

// forge returns a line that a writer without the key could append after
// prevLine: a well-formed record with the right prev, and mac as given
// (empty for none).
func forge(t *testing.T, prevLine []byte, target, mac string) []byte {
	t.Helper()
	b, err := json.Marshal(Record{ID: "20261129T221500.000Z-0badf00d", Command: "offboard", Target: target,
		Outcome: OutcomeRemoved, Evidence: []string{}, Prev: hashLine(prevLine), MAC: mac})
	require.NoError(t, err)
	return b
}

func TestKeyedAppend(t *testing.T) {
	l, path := openTemp(t, WithKey(testKey))
	rec, err := l.Append(Record{Command: "offboard", Target: "a@x.test", Outcome: OutcomeRemoved, MAC: "ignored"})
	require.NoError(t, err)
	appendN(t, l, 2)

	lines := readLines(t, path)
	require.Len(t, lines, 3)
	assert.Equal(t, decode(t, lines[0]).MAC, rec.MAC, "Append returns the record as stored")
	for i, line := range lines {
		stored := decode(t, line)
		require.Len(t, stored.MAC, 64, "line %d", i+1)
		// The canonical bytes are the record encoded without its MAC.
		stored.MAC = ""
		canonical, err := json.Marshal(stored)
		require.NoError(t, err)
		m := hmac.New(sha256.New, testKey)
		m.Write(canonical)
		want := hex.EncodeToString(m.Sum(nil))
		assert.Equal(t, string(canonical[:len(canonical)-1])+`,"mac":"`+want+`"}`, string(line), "line %d", i+1)
	}

	s, err := VerifyChainFile(path, VerifyKey(testKey))
	require.NoError(t, err)
	assert.Equal(t, Summary{Lines: 3, Head: hashLine(lines[2]), MACs: 3, MACsChecked: true, FirstMAC: 1}, s)

	s, err = VerifyChainFile(path)
	require.NoError(t, err)
	assert.Equal(t, Summary{Lines: 3, Head: hashLine(lines[2]), MACs: 3, FirstMAC: 1}, s, "without a key the MACs are counted, not checked")
}

func TestVerifyWithKey(t *testing.T) {
	// Two records written before the log had a key, then three keyed ones.
	plain, path := openTemp(t)
	appendN(t, plain, 2)
	require.NoError(t, plain.Close())
	keyed, err := Open(path, WithKey(testKey))
	require.NoError(t, err)
	appendN(t, keyed, 3)
	require.NoError(t, keyed.Close())
	good := readLines(t, path)
	require.Len(t, good, 5)
	last := good[4]

	with := func(lines ...[]byte) []byte { return joinLines(lines) }
	edit := func(line []byte, from, to string) []byte {
		out := bytes.Replace(line, []byte(from), []byte(to), 1)
		require.NotEqual(t, line, out)
		return out
	}
	// the last record moved back under another key: a valid line for
	// that key, not for ours
	otherLog := func() []byte {
		rec := decode(t, last)
		rec.Target = "mallory@x.test"
		rec.MAC = ""
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		return withMAC(b, computeMAC(b, otherKey))
	}
	// the MAC moved away from the end of the record
	macFirst := func() []byte {
		rec := decode(t, last)
		mac := rec.MAC
		rec.MAC = ""
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		return append([]byte(`{"mac":"`+mac+`",`), b[1:]...)
	}
	fresh := func() []byte {
		l, p := openTemp(t)
		appendN(t, l, 5)
		return joinLines(readLines(t, p))
	}

	tests := []struct {
		name        string
		content     []byte
		key         []byte
		wantLine    int // -1: no error
		wantMsg     string
		wantChainOK bool // whether the hash chain alone accepts it
	}{
		{name: "intact", content: with(good...), key: testKey, wantLine: -1, wantChainOK: true},
		{name: "wrong key", content: with(good...), key: otherKey, wantLine: 3, wantMsg: "MAC does not match", wantChainOK: true},
		{name: "forged append with the right prev and no MAC", content: with(append(good, forge(t, last, "forged@x.test", ""))...),
			key: testKey, wantLine: 6, wantMsg: "carries no MAC, but the records from line 3 on do", wantChainOK: true},
		{name: "forged append with a made-up MAC", content: with(append(good, forge(t, last, "forged@x.test", strings.Repeat("ab", 32)))...),
			key: testKey, wantLine: 6, wantMsg: "MAC does not match", wantChainOK: true},
		{name: "last record rewritten", content: with(append(good[:4:4], edit(last, "user2@x.test", "nobody@x.test"))...),
			key: testKey, wantLine: 5, wantMsg: "MAC does not match", wantChainOK: true},
		{name: "last record rewritten under another key", content: with(append(good[:4:4], otherLog())...),
			key: testKey, wantLine: 5, wantMsg: "MAC does not match", wantChainOK: true},
		{name: "MAC removed from the last record", content: with(append(good[:4:4], edit(last, `,"mac":"`+decode(t, last).MAC+`"`, ""))...),
			key: testKey, wantLine: 5, wantMsg: "carries no MAC", wantChainOK: true},
		{name: "MAC not the last field", content: with(append(good[:4:4], macFirst())...),
			key: testKey, wantLine: 5, wantMsg: `"mac" field is not the 64 hex digits`, wantChainOK: true},
		{name: "a record before the key edited", content: with(good[0], edit(good[1], "user1@x.test", "nobody@x.test"), good[2], good[3], good[4]),
			key: testKey, wantLine: 3, wantMsg: "prev does not match the SHA-256 of line 2"},
		{name: "rewritten from scratch without the key", content: fresh(), key: testKey, wantLine: 5, wantMsg: "no record carries a MAC", wantChainOK: true},
		{name: "empty", content: nil, key: testKey, wantLine: 0, wantMsg: "the log is empty", wantChainOK: true},
		// Cutting records from the end leaves a log that verifies: only an
		// anchor kept elsewhere shows it (TestVerifyAnchor).
		{name: "last record deleted", content: with(good[:4]...), key: testKey, wantLine: -1, wantChainOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, chainErr := VerifyChain(bytes.NewReader(tt.content))
			assert.Equal(t, tt.wantChainOK, chainErr == nil, "hash chain only: %v", chainErr)

			s, err := VerifyChain(bytes.NewReader(tt.content), VerifyKey(tt.key))
			assert.True(t, s.MACsChecked)
			if tt.wantLine < 0 {
				require.NoError(t, err)
				assert.Equal(t, 3, s.FirstMAC)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrTampered)
			var verr *VerifyError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, tt.wantLine, verr.Line, err.Error())
			assert.Contains(t, err.Error(), tt.wantMsg)
			if tt.wantMsg != "" && !strings.Contains(tt.wantMsg, "prev") {
				assert.ErrorIs(t, err, ErrMAC)
			}
		})
	}
}

func TestVerifyAnchor(t *testing.T) {
	l, path := openTemp(t, WithKey(testKey))
	appendN(t, l, 5)
	good := readLines(t, path)
	head3 := hashLine(good[2])
	head5 := hashLine(good[4])

	tests := []struct {
		name      string
		lines     [][]byte
		anchor    string
		wantLine  int // anchor line; -1: ErrHeadNotFound
		wantLines int
	}{
		{name: "anchor in the middle", lines: good, anchor: head3, wantLine: 3, wantLines: 5},
		{name: "anchor at the end", lines: good, anchor: head5, wantLine: 5, wantLines: 5},
		{name: "upper case", lines: good, anchor: strings.ToUpper(head5), wantLine: 5, wantLines: 5},
		{name: "genesis", lines: good, anchor: Genesis, wantLine: 0, wantLines: 5},
		{name: "last record deleted after the anchor was taken", lines: good[:4], anchor: head5, wantLine: -1, wantLines: 4},
		{name: "last record rewritten after the anchor was taken",
			lines:  append(good[:4:4], bytes.Replace(good[4], []byte("user4"), []byte("userX"), 1)),
			anchor: head5, wantLine: -1, wantLines: 5},
		{name: "another log's head", lines: good, anchor: strings.Repeat("e", 64), wantLine: -1, wantLines: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := VerifyChain(bytes.NewReader(joinLines(tt.lines)), VerifyAnchor(tt.anchor))
			assert.Equal(t, tt.wantLines, s.Lines)
			if tt.wantLine < 0 {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrHeadNotFound)
				assert.ErrorIs(t, err, ErrTampered)
				assert.False(t, s.AnchorFound)
				assert.Contains(t, err.Error(), "is not the chain hash of any of the")
				return
			}
			require.NoError(t, err)
			assert.True(t, s.AnchorFound)
			assert.Equal(t, tt.wantLine, s.AnchorLine)
		})
	}

	// An anchor does not excuse a broken chain after it.
	broken := append(append([][]byte(nil), good[:3]...), good[4])
	s, err := VerifyChain(bytes.NewReader(joinLines(broken)), VerifyAnchor(head3))
	assert.True(t, s.AnchorFound)
	var verr *VerifyError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, 4, verr.Line)
}

func TestVerifyTornLines(t *testing.T) {
	l, path := openTemp(t, WithKey(testKey))
	appendN(t, l, 2)
	require.NoError(t, l.Close())
	torn := []byte(`{"id":"20261129T221500.000Z-deadbeef","time":"2026-11-29T22:15:00Z","act`)
	appendRaw(t, path, torn)
	l2, err := Open(path, WithKey(testKey))
	require.NoError(t, err)
	appendN(t, l2, 2)
	require.NoError(t, l2.Close())
	sealed := readLines(t, path)
	require.Len(t, sealed, 6)
	require.Equal(t, torn, sealed[2])
	seal := decode(t, sealed[3])
	require.Equal(t, OutcomeRecovered, seal.Outcome)
	require.NotEmpty(t, seal.MAC, "the recovered record of a keyed log is keyed")

	// the recovered record replaced by one forged without the key
	forgedSeal := func() []byte {
		rec := seal
		rec.MAC = ""
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		return b
	}()
	// a record that chains to the torn line but is not a recovered one,
	// as earlier versions appended
	oldStyle := forge(t, torn, "next@x.test", "")

	tests := []struct {
		name     string
		lines    [][]byte
		key      []byte
		wantErr  error // nil: verifies
		wantLine int
	}{
		{name: "sealed, with the key", lines: sealed, key: testKey},
		{name: "sealed, chain only", lines: sealed},
		{name: "torn line at the end", lines: sealed[:3], wantErr: ErrTorn, wantLine: 3},
		{name: "torn line followed by a record that is not a recovered one", lines: [][]byte{sealed[0], sealed[1], torn, oldStyle}, wantErr: ErrTorn, wantLine: 3},
		{name: "recovered record that does not chain to the torn line", lines: [][]byte{sealed[0], sealed[1], torn, forgeRecovered(t, sealed[1])}, wantErr: ErrTorn, wantLine: 3},
		{name: "recovered record forged without the key", lines: [][]byte{sealed[0], sealed[1], torn, forgedSeal}, key: testKey, wantErr: ErrMAC, wantLine: 4},
		{name: "recovered record forged without the key, chain only", lines: [][]byte{sealed[0], sealed[1], torn, forgedSeal}},
		{name: "a keyed record replaced by junk and a forged recovered record", lines: [][]byte{sealed[0], []byte("junk"), forgeRecovered(t, []byte("junk"))},
			key: testKey, wantErr: ErrMAC, wantLine: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []VerifyOption
			if tt.key != nil {
				opts = append(opts, VerifyKey(tt.key))
			}
			s, err := VerifyChain(bytes.NewReader(joinLines(tt.lines)), opts...)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, len(tt.lines), s.Lines)
				assert.Equal(t, 1, s.Sealed)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.ErrorIs(t, err, ErrTampered)
			var verr *VerifyError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, tt.wantLine, verr.Line, err.Error())
		})
	}
}

// forgeRecovered is a recovered record without a MAC that chains to line.
func forgeRecovered(t *testing.T, line []byte) []byte {
	t.Helper()
	b, err := json.Marshal(Record{ID: "x", Outcome: OutcomeRecovered, Evidence: []string{}, Prev: hashLine(line)})
	require.NoError(t, err)
	return b
}

func TestOpenChecksTheKey(t *testing.T) {
	l, path := openTemp(t, WithKey(testKey))
	appendN(t, l, 2)
	require.NoError(t, l.Close())
	before := readLines(t, path)

	_, err := Open(path)
	assert.ErrorIs(t, err, ErrKeyRequired, "a keyed log is not appended to without the key")
	_, err = Open(path, WithKey(otherKey))
	assert.ErrorIs(t, err, ErrKey, "nor with another key")
	_, err = Open(filepath.Join(t.TempDir(), "new.jsonl"), WithKey([]byte("short")))
	assert.ErrorIs(t, err, ErrKey)

	// A torn line after the last keyed record changes nothing.
	appendRaw(t, path, []byte(`{"id":"20261129`))
	_, err = Open(path)
	assert.ErrorIs(t, err, ErrKeyRequired)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(joinLines(before))+`{"id":"20261129`, string(after), "nothing was written")

	l2, err := Open(path, WithKey(testKey))
	require.NoError(t, err)
	_, err = l2.Append(Record{Outcome: "x"})
	require.NoError(t, err)
	require.NoError(t, l2.Close())
	s, err := VerifyChainFile(path, VerifyKey(testKey))
	require.NoError(t, err)
	assert.Equal(t, 1, s.Sealed)

	// A log without a key opens either way.
	plain, plainPath := openTemp(t)
	appendN(t, plain, 1)
	l3, err := Open(plainPath, WithKey(testKey))
	require.NoError(t, err)
	require.NoError(t, l3.Close())
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	secretKey := "TOPSECRET-" + strings.Repeat("k", 40)
	write := func(name string, content []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, content, mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir"), 0o700))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(write("target", []byte(secretKey), 0o600), link))
	tests := []struct {
		name    string
		path    string
		reason  error  // secret's reason for a refused file
		wantErr string // "" for success
	}{
		{name: "0600", path: write("ok", []byte(secretKey), 0o600)},
		{name: "0400", path: write("ro", []byte(secretKey+"\n"), 0o400)},
		{name: "through a link", path: link},
		{name: "readable by all", path: write("open", []byte(secretKey), 0o644), reason: secret.ErrPermissive, wantErr: "accessible by group or others (mode 0644); run: chmod 600"},
		{name: "readable by the group", path: write("group", []byte(secretKey), 0o640), reason: secret.ErrPermissive, wantErr: "accessible by group or others"},
		{name: "empty", path: write("empty", nil, 0o600), reason: secret.ErrEmpty, wantErr: "is empty"},
		{name: "too short", path: write("short", []byte(secretKey[:31]), 0o600), wantErr: "holds 31 bytes; a key needs at least 32"},
		{name: "too long", path: write("long", []byte(strings.Repeat(secretKey, 100)), 0o600), reason: secret.ErrTooLarge, wantErr: "too large"},
		{name: "directory", path: filepath.Join(dir, "dir"), reason: secret.ErrNotRegular, wantErr: "is a directory"},
		{name: "missing", path: filepath.Join(dir, "missing"), reason: secret.ErrNotFound, wantErr: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ReadKeyFile(tt.path)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(string(key), secretKey), "the file's bytes as they are")
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrKey)
			if tt.reason != nil {
				assert.ErrorIs(t, err, tt.reason)
			}
			assert.Contains(t, err.Error(), "audit key file "+tt.path)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "TOPSECRET")
			assert.Nil(t, key)
		})
	}
	_, err := ReadKeyFile(filepath.Join(dir, "missing"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}
