package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

func (a *app) diffCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what changed between two snapshot files",
		Long: `diff compares two files written by ` + "`agent snapshot`" + ` and reports, from OLD to NEW,
members added, removed, renamed or given another role, and invitations sent or
gone, in the same formats as ` + "`agent snapshot`" + `. Emails are compared without regard
to case. It needs no browser and no session.`,
		Example: `  agent diff snapshots/1234-20260101T023000Z.json snapshots/1234-20260102T023000Z.json
  agent diff -o json old.json new.json | jq '.changes.removed[].email'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError("%s needs two snapshot files, OLD and NEW; got %d argument(s)", cmd.CommandPath(), len(args))
			}
			return nil
		},
		PreRunE: func(*cobra.Command, []string) error {
			return checkFormat(output, "text", "json")
		},
		RunE: func(_ *cobra.Command, args []string) error {
			res, err := snapshot.DiffFiles(args[0], args[1])
			if err != nil {
				return fmt.Errorf("%w: %w", agent.ErrUsage, err)
			}
			if prev, err := snapshot.Load(args[0]); err == nil && strings.TrimSpace(prev.Workspace) != strings.TrimSpace(res.Workspace) {
				fmt.Fprintf(a.stderr, "agent: warning: the files hold different workspaces (%s and %s)\n", textsafe.Quote(prev.Workspace), textsafe.Quote(res.Workspace))
			}
			if output == "json" {
				return writeJSON(a.stdout, res)
			}
			return writeDiffText(a.stdout, res)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// writeDiffText prints the human form of `agent diff`.
func writeDiffText(w io.Writer, res *snapshot.Result) error {
	fmt.Fprintf(w, "old  %s\n", res.Previous)
	fmt.Fprintf(w, "new  %s", res.Snapshot)
	if res.Roster != nil {
		fmt.Fprintf(w, " (%s)", countMembers(res.Roster))
	}
	fmt.Fprintln(w)
	return writeChanges(w, res.Changes)
}
