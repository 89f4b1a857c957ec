package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
)

// Environment variables of the audit log.
const (
	// envAuditLog names the audit log when no --audit-log flag does.
	envAuditLog = "CLAY_AUDIT_LOG"
	// envAuditKeyFile names the file holding the audit log's key when no
	// --audit-key-file (or, for audit verify, --key-file) flag does.
	envAuditKeyFile = "CLAY_AUDIT_KEY_FILE"
)

// auditLogPath is the audit log to use: the flag's value when set, else
// CLAY_AUDIT_LOG, else audit.DefaultPath().
func (a *app) auditLogPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := a.getenv(envAuditLog); p != "" {
		return p
	}
	return audit.DefaultPath()
}

// auditKeyFile is the key file to use: the flag's value when set, else
// CLAY_AUDIT_KEY_FILE, else "" for none.
func (a *app) auditKeyFile(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return a.getenv(envAuditKeyFile)
}

// readAuditKey reads the key named by the flag's value or
// CLAY_AUDIT_KEY_FILE; nil when neither names one. An unusable key file is
// a usage error that never quotes the file.
func (a *app) readAuditKey(flagName, flagValue string) ([]byte, error) {
	p := a.auditKeyFile(flagValue)
	if p == "" {
		return nil, nil
	}
	key, err := audit.ReadKeyFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (or %s): %w", agent.ErrUsage, flagName, envAuditKeyFile, err)
	}
	return key, nil
}

// openAuditLog opens the audit log at path for a command that writes it,
// with the key from keyFlag (--audit-key-file) or CLAY_AUDIT_KEY_FILE when
// either names one. An unusable key file, a keyed log opened without its
// key and a key that does not match the log are usage errors.
func (a *app) openAuditLog(path, keyFlag string, opts ...audit.Option) (*audit.Log, error) {
	key, err := a.readAuditKey("--audit-key-file", keyFlag)
	if err != nil {
		return nil, err
	}
	if key != nil {
		opts = append(opts, audit.WithKey(key))
	}
	l, err := audit.Open(path, opts...)
	switch {
	case errors.Is(err, audit.ErrKeyRequired):
		return nil, fmt.Errorf("%w: %w: pass --audit-key-file or set %s", agent.ErrUsage, err, envAuditKeyFile)
	case errors.Is(err, audit.ErrKey):
		return nil, fmt.Errorf("%w: --audit-key-file (or %s): %w", agent.ErrUsage, envAuditKeyFile, err)
	case errors.Is(err, audit.ErrNotRegular):
		return nil, fmt.Errorf("%w: --audit-log (or %s): %w", agent.ErrUsage, envAuditLog, err)
	case err != nil:
		return nil, err
	}
	return l, nil
}

// newAuditCmd builds `agent audit` and its subcommands.
func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the audit log",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newAuditVerifyCmd(a, nil), newAuditHeadCmd(a, nil))
	return cmd
}

// openAuditForReading opens the audit log at p; a log that does not exist
// is a usage error.
func openAuditForReading(p string) (*os.File, error) {
	if err := audit.CheckFile(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if errors.Is(err, audit.ErrNotRegular) {
			return nil, fmt.Errorf("%w: %w", agent.ErrUsage, err)
		}
		return nil, fmt.Errorf("audit log %s: %w", p, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError("audit log %s does not exist", p)
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", p, err)
	}
	return f, nil
}

// verifyFailure turns a failed verification into exit code 1 with the
// lines that verified, and any other error (reading the file) as it is.
func verifyFailure(p string, sum audit.Summary, err error) error {
	var verr *audit.VerifyError
	if !errors.As(err, &verr) {
		return fmt.Errorf("%s: %w", p, err)
	}
	msg := fmt.Sprintf("%s: %v", p, err)
	switch {
	case sum.Lines == 1:
		msg += " (line 1 verified)"
	case sum.Lines > 1:
		msg += fmt.Sprintf(" (lines 1-%d verified)", sum.Lines)
	}
	return &exitError{code: exitFailed, msg: msg}
}

// auditReader reads an audit log and verifies it: the log at a path, or a
// test's fake.
type auditReader struct {
	// open opens the log at path; an error wrapping fs.ErrNotExist means
	// there is none.
	open func(path string) (io.ReadCloser, error)
	// verify checks the log's chain, and with a key its MACs, and with a
	// head that the head is the chain hash of one of its lines.
	verify func(r io.Reader, key []byte, head string) (audit.Summary, error)
}

// fileAuditReader reads the log from its file with audit.VerifyChain.
var fileAuditReader = auditReader{open: openAuditIfExists, verify: verifyAuditChain}

// openAuditIfExists opens the audit log at p for reading; when there is
// none, its error wraps fs.ErrNotExist.
func openAuditIfExists(p string) (io.ReadCloser, error) {
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("audit log %s: %w", p, err)
	}
	return openAuditForReading(p)
}

// verifyAuditChain is audit.VerifyChain with the key and the head, when
// given.
func verifyAuditChain(r io.Reader, key []byte, head string) (audit.Summary, error) {
	var opts []audit.VerifyOption
	if head != "" {
		opts = append(opts, audit.VerifyAnchor(head))
	}
	if key != nil {
		opts = append(opts, audit.VerifyKey(key))
	}
	return audit.VerifyChain(r, opts...)
}

// auditVerifyOptions are what `agent audit verify` runs with.
type auditVerifyOptions struct {
	streams streams
	// logFlag, keyFile and head are the flags' values.
	logFlag, keyFile, head string
	// logPath and key are the log and the key the flags and the
	// environment name, set by prepare.
	logPath string
	key     []byte
	// log reads the log.
	log auditReader
}

// prepare checks --head and reads the key, then settles the log's path.
func (o *auditVerifyOptions) prepare(a *app) error {
	if o.head != "" && !isChainHash(o.head) {
		return usageError("--head %q is not a chain hash (64 hex digits, as agent audit head prints)", o.head)
	}
	key, err := a.readAuditKey("--key-file", o.keyFile)
	if err != nil {
		return err
	}
	o.key, o.logPath = key, a.auditLogPath(o.logFlag)
	return nil
}

// newAuditVerifyCmd builds `agent audit verify`; runF, when not nil, runs
// instead of auditVerifyRun.
func newAuditVerifyCmd(a *app, runF func(context.Context, *auditVerifyOptions) error) *cobra.Command {
	opts := &auditVerifyOptions{streams: a.streams(), log: fileAuditReader}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain, MACs and anchor",
		Long: `verify reads the audit log and checks that every line carries the SHA-256 of the
line before it. It prints "ok: N records, head <hash>" and exits with 0, or
names the first line that fails and exits with 1: an edited, removed, inserted
or reordered line breaks the chain at the line after the change. A torn line
(a write cut short) passes only when a "recovered" record right after it
chains to it.

--key-file (or CLAY_AUDIT_KEY_FILE) also checks the MAC of every record written
with --audit-key-file: from the first record with a MAC on, every record needs a
valid one, and the log must end with one. Records before the first keyed record
are covered by the chain only. Without a key the MACs are not checked, and
verify says so.

--head HASH checks that a head kept earlier (agent audit head, the snapshot
webhook, /metrics) is the chain hash of a line of the log: nothing up to that
line was removed or rewritten. It reports the line and how many records follow,
and exits with 1 when the hash is not in the chain.

Without --head the chain cannot show lines cut from the end; without a key, a
log rewritten from scratch verifies too.`,
		Example: `  agent audit verify
  agent audit verify --audit-log /data/state/clay-agent/audit.jsonl --key-file /run/secrets/audit-key
  agent audit verify --head 5f0c9a0e...e41b`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return opts.prepare(a)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditVerifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.logFlag, "audit-log", "", "the audit log (env "+envAuditLog+"; default "+audit.DefaultPath()+")")
	cmd.Flags().StringVar(&opts.keyFile, "key-file", "", "check the records' MACs with the key in this file (env "+envAuditKeyFile+"; mode 0600, at least 32 bytes)")
	cmd.Flags().StringVar(&opts.head, "head", "", "a head kept earlier: fail unless it is the chain hash of a line of the log")
	return cmd
}

// auditVerifyRun verifies the log and prints what it proved. A log that
// fails is exit code 1 naming the first bad line; an empty or missing log
// proves nothing, and fails when a head was to be found in it.
func auditVerifyRun(_ context.Context, opts *auditVerifyOptions) error {
	sum, missing, err := opts.readLog()
	if err != nil {
		return err
	}
	w := opts.streams.Out
	if sum.Lines == 0 {
		// nothing to vouch for: an empty or missing log is not "ok"
		what := "is empty"
		if missing {
			what = "does not exist"
		}
		fmt.Fprintf(w, "no records: %s %s\n", opts.logPath, what)
		if opts.head != "" {
			return &exitError{code: exitFailed, msg: fmt.Sprintf("%s %s, so it holds no head %s: records were removed, or this is not the log the head came from", opts.logPath, what, strings.ToLower(opts.head))}
		}
		return nil
	}
	writeVerified(w, sum, opts.head)
	return nil
}

// readLog verifies the log; missing says there is none, which is no
// error.
func (o *auditVerifyOptions) readLog() (sum audit.Summary, missing bool, err error) {
	sum = audit.Summary{Head: audit.Genesis}
	f, err := o.log.open(o.logPath)
	if errors.Is(err, fs.ErrNotExist) {
		return sum, true, nil
	}
	if err != nil {
		return sum, false, err
	}
	defer func() { _ = f.Close() }()
	if sum, err = o.log.verify(f, o.key, o.head); err != nil {
		return sum, false, verifyFailure(o.logPath, sum, err)
	}
	return sum, false, nil
}

// writeVerified prints what a verified log proved: its records and head,
// its MACs, its sealed torn lines and where the head kept earlier is.
func writeVerified(w io.Writer, sum audit.Summary, head string) {
	fmt.Fprintf(w, "ok: %d records, head %s\n", sum.Lines, sum.Head)
	switch {
	case sum.MACsChecked && sum.FirstMAC > 1:
		fmt.Fprintf(w, "MACs: valid on all %d records from line %d on; lines 1-%d were written without a key and are covered by the chain only\n",
			sum.MACs, sum.FirstMAC, sum.FirstMAC-1)
	case sum.MACsChecked:
		fmt.Fprintf(w, "MACs: valid on all %d records\n", sum.MACs)
	case sum.MACs > 0:
		fmt.Fprintf(w, "MACs: not checked (no --key-file); %d of %d records carry one\n", sum.MACs, sum.Lines)
	}
	if sum.Sealed > 0 {
		fmt.Fprintf(w, "torn lines: %d, each sealed by the recovered record after it\n", sum.Sealed)
	}
	if sum.AnchorFound {
		fmt.Fprintf(w, "head %s found at line %d; %d records follow\n", strings.ToLower(head), sum.AnchorLine, sum.Lines-sum.AnchorLine)
	}
}

// isChainHash reports whether s looks like a SHA-256 in hex, in either
// case.
func isChainHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// auditHeadJSON is the -o json output of audit head.
type auditHeadJSON struct {
	Log     string `json:"log"`
	Head    string `json:"head"`
	Records int    `json:"records"`
}

// auditHeadOptions are what `agent audit head` runs with.
type auditHeadOptions struct {
	streams streams
	output  string
	// logFlag is --audit-log; logPath the log it and the environment
	// name, set in PreRunE.
	logFlag, logPath string
	// open opens the log; verify checks its chain.
	open   func(path string) (io.ReadCloser, error)
	verify func(r io.Reader, key []byte, head string) (audit.Summary, error)
}

// newAuditHeadCmd builds `agent audit head`; runF, when not nil, runs
// instead of auditHeadRun.
func newAuditHeadCmd(a *app, runF func(context.Context, *auditHeadOptions) error) *cobra.Command {
	opts := &auditHeadOptions{streams: a.streams(), open: openAuditLogFile, verify: verifyAuditChain}
	cmd := &cobra.Command{
		Use:   "head",
		Short: "Print the audit log's head hash and record count",
		Long: `head verifies the audit log's hash chain and prints its head, the chain hash of
the last line, and the number of records (a sealed torn line counts as one).
Keep the head somewhere the log's writers cannot change it; later,
agent audit verify --head HASH proves that nothing up to that point was removed
or rewritten. A log that fails verification exits with 1 and prints no head.`,
		Example: `  agent audit head
  agent audit head -o json --audit-log /data/state/clay-agent/audit.jsonl`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			opts.logPath = a.auditLogPath(opts.logFlag)
			return checkFormat(opts.output, "text", "json")
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditHeadRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.logFlag, "audit-log", "", "the audit log (env "+envAuditLog+"; default "+audit.DefaultPath()+")")
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// openAuditLogFile is openAuditForReading as an io.ReadCloser.
func openAuditLogFile(p string) (io.ReadCloser, error) {
	f, err := openAuditForReading(p)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// auditHeadRun verifies the log's chain and prints its head and record
// count; a log that fails prints no head.
func auditHeadRun(_ context.Context, opts *auditHeadOptions) error {
	f, err := opts.open(opts.logPath)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sum, err := opts.verify(f, nil, "")
	if err != nil {
		return verifyFailure(opts.logPath, sum, err)
	}
	if opts.output == "json" {
		return writeJSON(opts.streams.Out, auditHeadJSON{Log: opts.logPath, Head: sum.Head, Records: sum.Lines})
	}
	fmt.Fprintf(opts.streams.Out, "head     %s\nrecords  %d\n", sum.Head, sum.Lines)
	return nil
}
