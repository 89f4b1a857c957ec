package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/audit"
)

func init() { registerCommand((*app).auditCommand) }

// envAuditLog names the audit log when no --audit-log flag does.
const envAuditLog = "CLAY_AUDIT_LOG"

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
	cmd.AddCommand(a.auditVerifyCommand())
	return cmd
}

func (a *app) auditVerifyCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain",
		Long: `verify reads the audit log and checks that every line carries the SHA-256 of the
line before it. It prints "ok: N records, head <hash>" and exits with 0, or
names the first line that fails and exits with 1: an edited, removed, inserted
or reordered line breaks the chain at the line after the change.

The chain cannot show lines cut from the end, or a log rewritten from scratch.
Keep the head hash somewhere the log's writers cannot change it, and compare.`,
		Example: `  agent audit verify
  agent audit verify --audit-log /data/state/clay-agent/audit.jsonl`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			p := a.auditLogPath(path)
			f, err := os.Open(p)
			if errors.Is(err, fs.ErrNotExist) {
				return usageError("audit log %s does not exist", p)
			}
			if err != nil {
				return fmt.Errorf("audit log %s: %w", p, err)
			}
			defer func() { _ = f.Close() }()
			sum, err := audit.VerifyChain(f)
			if err != nil {
				var verr *audit.VerifyError
				if errors.As(err, &verr) {
					msg := fmt.Sprintf("%s: %v", p, err)
					switch {
					case sum.Lines == 1:
						msg += " (line 1 verified)"
					case sum.Lines > 1:
						msg += fmt.Sprintf(" (lines 1-%d verified)", sum.Lines)
					}
					return &exitError{code: exitFailed, msg: msg}
				}
				return fmt.Errorf("%s: %w", p, err)
			}
			fmt.Fprintf(a.stdout, "ok: %d records, head %s\n", sum.Lines, sum.Head)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "audit-log", "", "the audit log (env "+envAuditLog+"; default "+audit.DefaultPath()+")")
	return cmd
}
