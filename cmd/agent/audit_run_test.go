package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
)

// fakeLog is an audit log in memory: what open returns, what verify
// answers, and what they were called with.
type fakeLog struct {
	content string
	openErr error
	sum     audit.Summary
	err     error

	opened   []string
	read     string // what verify read
	key      []byte
	head     string
	verified int
	closed   int
}

func (l *fakeLog) open(p string) (io.ReadCloser, error) {
	l.opened = append(l.opened, p)
	if l.openErr != nil {
		return nil, l.openErr
	}
	return &closeCounter{Reader: strings.NewReader(l.content), closed: &l.closed}, nil
}

func (l *fakeLog) verify(r io.Reader, key []byte, head string) (audit.Summary, error) {
	l.verified++
	b, _ := io.ReadAll(r)
	l.read, l.key, l.head = string(b), key, head
	return l.sum, l.err
}

func (l *fakeLog) reader() auditReader { return auditReader{open: l.open, verify: l.verify} }

type closeCounter struct {
	io.Reader
	closed *int
}

func (c *closeCounter) Close() error { *c.closed++; return nil }

const testHead = "5f0c9a0e5f0c9a0e5f0c9a0e5f0c9a0e5f0c9a0e5f0c9a0e5f0c9a0e5f0ce41b"

func TestRunAuditVerifyPrintsWhatItProved(t *testing.T) {
	const p = "/state/audit.jsonl"
	tests := []struct {
		name   string
		head   string
		sum    audit.Summary
		stdout string
	}{
		{name: "chain only", sum: audit.Summary{Lines: 3, Head: "h3"}, stdout: "ok: 3 records, head h3\n"},
		{name: "MACs from the first record", sum: audit.Summary{Lines: 2, Head: "h2", MACs: 2, MACsChecked: true, FirstMAC: 1},
			stdout: "ok: 2 records, head h2\nMACs: valid on all 2 records\n"},
		{name: "MACs from line 3", sum: audit.Summary{Lines: 4, Head: "h4", MACs: 2, MACsChecked: true, FirstMAC: 3},
			stdout: "ok: 4 records, head h4\nMACs: valid on all 2 records from line 3 on; lines 1-2 were written without a key and are covered by the chain only\n"},
		{name: "MACs not checked", sum: audit.Summary{Lines: 4, Head: "h4", MACs: 1, FirstMAC: 4},
			stdout: "ok: 4 records, head h4\nMACs: not checked (no --key-file); 1 of 4 records carry one\n"},
		{name: "a sealed torn line", sum: audit.Summary{Lines: 5, Head: "h5", Sealed: 1},
			stdout: "ok: 5 records, head h5\ntorn lines: 1, each sealed by the recovered record after it\n"},
		{name: "the head found", head: strings.ToUpper(testHead), sum: audit.Summary{Lines: 5, Head: "h5", AnchorFound: true, AnchorLine: 2},
			stdout: "ok: 5 records, head h5\nhead " + testHead + " found at line 2; 3 records follow\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &fakeLog{content: "line 1\nline 2\n", sum: tc.sum}
			s, out, errOut := testStreams("")
			key := []byte("0123456789abcdef0123456789abcdef")
			opts := &auditVerifyOptions{streams: s, head: tc.head, logPath: p, key: key, log: log.reader()}
			require.NoError(t, auditVerifyRun(context.Background(), opts))
			assert.Equal(t, tc.stdout, out.String())
			assert.Empty(t, errOut.String())
			assert.Equal(t, []string{p}, log.opened)
			assert.Equal(t, "line 1\nline 2\n", log.read, "verify reads the opened log")
			assert.Equal(t, key, log.key)
			assert.Equal(t, tc.head, log.head)
			assert.Equal(t, 1, log.closed)
		})
	}
}

func TestRunAuditVerifyEmptyOrMissingLog(t *testing.T) {
	const p = "/state/audit.jsonl"
	missing := fmt.Errorf("audit log %s: %w", p, fs.ErrNotExist)
	tests := []struct {
		name    string
		openErr error
		head    string
		stdout  string
		failed  string // the error's message; "" for none
	}{
		{name: "empty", stdout: "no records: " + p + " is empty\n"},
		{name: "missing", openErr: missing, stdout: "no records: " + p + " does not exist\n"},
		{name: "empty, with a head", head: testHead, stdout: "no records: " + p + " is empty\n",
			failed: p + " is empty, so it holds no head " + testHead + ": records were removed, or this is not the log the head came from"},
		{name: "missing, with a head", openErr: missing, head: strings.ToUpper(testHead), stdout: "no records: " + p + " does not exist\n",
			failed: p + " does not exist, so it holds no head " + testHead},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &fakeLog{openErr: tc.openErr, sum: audit.Summary{Head: audit.Genesis}}
			s, out, _ := testStreams("")
			err := auditVerifyRun(context.Background(), &auditVerifyOptions{streams: s, head: tc.head, logPath: p, log: log.reader()})
			assert.Equal(t, tc.stdout, out.String())
			if tc.openErr != nil {
				assert.Zero(t, log.verified, "nothing to verify")
			}
			if tc.failed == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, exitFailed, exitCode(err))
			assert.Contains(t, err.Error(), tc.failed)
		})
	}
}

func TestRunAuditVerifyFailures(t *testing.T) {
	const p = "/state/audit.jsonl"
	readErr := errors.New("read: input/output error")
	notRegular := fmt.Errorf("%w: %w", agent.ErrUsage, audit.ErrNotRegular)
	tests := []struct {
		name    string
		log     fakeLog
		code    int
		is      error    // the error wraps it, when set
		want    []string // substrings of the message
		noCheck bool     // verify must not run
	}{
		{name: "a line edited", log: fakeLog{sum: audit.Summary{Lines: 2}, err: &audit.VerifyError{Line: 3, Reason: "prev does not match"}},
			code: exitFailed, want: []string{p, "line 3", "(lines 1-2 verified)"}},
		{name: "the second line", log: fakeLog{sum: audit.Summary{Lines: 1}, err: &audit.VerifyError{Line: 2, Reason: "not a valid record"}},
			code: exitFailed, want: []string{"line 2", "(line 1 verified)"}},
		{name: "the first line", log: fakeLog{err: &audit.VerifyError{Line: 1, Reason: "not a valid record"}},
			code: exitFailed, want: []string{"line 1: not a valid record"}},
		{name: "a read error", log: fakeLog{err: readErr}, code: exitFailed, is: readErr, want: []string{p + ": read: input/output error"}},
		{name: "not a regular file", log: fakeLog{openErr: notRegular}, code: exitUsage, is: audit.ErrNotRegular, noCheck: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, out, _ := testStreams("")
			err := auditVerifyRun(context.Background(), &auditVerifyOptions{streams: s, logPath: p, log: tc.log.reader()})
			require.Error(t, err)
			assert.Equal(t, tc.code, exitCode(err))
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, out.String(), "a failed log prints no ok")
			if tc.noCheck {
				assert.Zero(t, tc.log.verified)
			} else {
				assert.Equal(t, 1, tc.log.closed, "the log is closed")
			}
		})
	}
}

func TestRunAuditHead(t *testing.T) {
	const p = "/state/audit.jsonl"
	sum := audit.Summary{Lines: 7, Head: testHead}
	t.Run("text", func(t *testing.T) {
		log := &fakeLog{sum: sum}
		s, out, _ := testStreams("")
		require.NoError(t, auditHeadRun(context.Background(), &auditHeadOptions{streams: s, output: "text", logPath: p, open: log.open, verify: log.verify}))
		assert.Equal(t, "head     "+testHead+"\nrecords  7\n", out.String())
		assert.Equal(t, []string{p}, log.opened)
		assert.Nil(t, log.key, "head checks the chain only")
		assert.Empty(t, log.head)
		assert.Equal(t, 1, log.closed)
	})
	t.Run("json", func(t *testing.T) {
		log := &fakeLog{sum: sum}
		s, out, _ := testStreams("")
		require.NoError(t, auditHeadRun(context.Background(), &auditHeadOptions{streams: s, output: "json", logPath: p, open: log.open, verify: log.verify}))
		var got auditHeadJSON
		require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
		assert.Equal(t, auditHeadJSON{Log: p, Head: testHead, Records: 7}, got)
	})
	t.Run("a log that fails prints no head", func(t *testing.T) {
		log := &fakeLog{sum: audit.Summary{Lines: 4, Head: "partial"}, err: &audit.VerifyError{Line: 5, Reason: "prev does not match"}}
		s, out, _ := testStreams("")
		err := auditHeadRun(context.Background(), &auditHeadOptions{streams: s, output: "text", logPath: p, open: log.open, verify: log.verify})
		require.Error(t, err)
		assert.Equal(t, exitFailed, exitCode(err))
		assert.Contains(t, err.Error(), "(lines 1-4 verified)")
		assert.Empty(t, out.String())
	})
	t.Run("no log", func(t *testing.T) {
		log := &fakeLog{openErr: usageError("audit log %s does not exist", p)}
		s, out, _ := testStreams("")
		err := auditHeadRun(context.Background(), &auditHeadOptions{streams: s, output: "text", logPath: p, open: log.open, verify: log.verify})
		assert.ErrorIs(t, err, agent.ErrUsage)
		assert.Zero(t, log.verified)
		assert.Empty(t, out.String())
	})
}
