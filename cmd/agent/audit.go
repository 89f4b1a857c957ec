package main

import (
	"errors"
	"fmt"
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

func (a *app) auditCommand() *cobra.Command {
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
	cmd.AddCommand(a.auditVerifyCommand(), a.auditHeadCommand())
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

func (a *app) auditVerifyCommand() *cobra.Command {
	var path, keyFile, head string
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
		RunE: func(*cobra.Command, []string) error {
			var opts []audit.VerifyOption
			if head != "" {
				if !isChainHash(head) {
					return usageError("--head %q is not a chain hash (64 hex digits, as agent audit head prints)", head)
				}
				opts = append(opts, audit.VerifyAnchor(head))
			}
			key, err := a.readAuditKey("--key-file", keyFile)
			if err != nil {
				return err
			}
			if key != nil {
				opts = append(opts, audit.VerifyKey(key))
			}
			p := a.auditLogPath(path)
			_, statErr := os.Lstat(p)
			missing := errors.Is(statErr, fs.ErrNotExist)
			sum := audit.Summary{Head: audit.Genesis}
			if !missing {
				f, err := openAuditForReading(p)
				if err != nil {
					return err
				}
				defer func() { _ = f.Close() }()
				if sum, err = audit.VerifyChain(f, opts...); err != nil {
					return verifyFailure(p, sum, err)
				}
			}
			if sum.Lines == 0 {
				// nothing to vouch for: an empty or missing log is not "ok"
				what := "is empty"
				if missing {
					what = "does not exist"
				}
				fmt.Fprintf(a.stdout, "no records: %s %s\n", p, what)
				if head != "" {
					return &exitError{code: exitFailed, msg: fmt.Sprintf("%s %s, so it holds no head %s: records were removed, or this is not the log the head came from", p, what, strings.ToLower(head))}
				}
				return nil
			}
			fmt.Fprintf(a.stdout, "ok: %d records, head %s\n", sum.Lines, sum.Head)
			switch {
			case sum.MACsChecked && sum.FirstMAC > 1:
				fmt.Fprintf(a.stdout, "MACs: valid on all %d records from line %d on; lines 1-%d were written without a key and are covered by the chain only\n",
					sum.MACs, sum.FirstMAC, sum.FirstMAC-1)
			case sum.MACsChecked:
				fmt.Fprintf(a.stdout, "MACs: valid on all %d records\n", sum.MACs)
			case sum.MACs > 0:
				fmt.Fprintf(a.stdout, "MACs: not checked (no --key-file); %d of %d records carry one\n", sum.MACs, sum.Lines)
			}
			if sum.Sealed > 0 {
				fmt.Fprintf(a.stdout, "torn lines: %d, each sealed by the recovered record after it\n", sum.Sealed)
			}
			if sum.AnchorFound {
				fmt.Fprintf(a.stdout, "head %s found at line %d; %d records follow\n", strings.ToLower(head), sum.AnchorLine, sum.Lines-sum.AnchorLine)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "audit-log", "", "the audit log (env "+envAuditLog+"; default "+audit.DefaultPath()+")")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "check the records' MACs with the key in this file (env "+envAuditKeyFile+"; mode 0600, at least 32 bytes)")
	cmd.Flags().StringVar(&head, "head", "", "a head kept earlier: fail unless it is the chain hash of a line of the log")
	return cmd
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

func (a *app) auditHeadCommand() *cobra.Command {
	var path, output string
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
			return checkFormat(output, "text", "json")
		},
		RunE: func(*cobra.Command, []string) error {
			p := a.auditLogPath(path)
			f, err := openAuditForReading(p)
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			sum, err := audit.VerifyChain(f)
			if err != nil {
				return verifyFailure(p, sum, err)
			}
			if output == "json" {
				return writeJSON(a.stdout, auditHeadJSON{Log: p, Head: sum.Head, Records: sum.Lines})
			}
			fmt.Fprintf(a.stdout, "head     %s\nrecords  %d\n", sum.Head, sum.Lines)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "audit-log", "", "the audit log (env "+envAuditLog+"; default "+audit.DefaultPath()+")")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
