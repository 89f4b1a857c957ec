package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

// diffOptions are what `agent diff` runs with.
type diffOptions struct {
	streams streams
	output  string
	// oldPath and newPath are the snapshot files, OLD and NEW.
	oldPath, newPath string
	// diffFiles compares two snapshot files; load reads one.
	diffFiles func(oldPath, newPath string) (*snapshot.Result, error)
	load      func(path string) (*roster.Roster, error)
}

// newDiffCmd builds `agent diff`; runF, when not nil, runs instead of
// diffRun.
func newDiffCmd(a *app, runF func(context.Context, *diffOptions) error) *cobra.Command {
	opts := &diffOptions{streams: a.streams(), diffFiles: snapshot.DiffFiles, load: snapshot.Load}
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
		PreRunE: func(_ *cobra.Command, args []string) error {
			opts.oldPath, opts.newPath = args[0], args[1]
			return checkFormat(opts.output, "text", "json")
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return diffRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// diffRun compares the two files and prints the changes; a file that
// cannot be read as a snapshot is bad input (exit 2).
func diffRun(_ context.Context, opts *diffOptions) error {
	res, err := opts.diffFiles(opts.oldPath, opts.newPath)
	if err != nil {
		return fmt.Errorf("%w: %w", agent.ErrUsage, err)
	}
	if prev, err := opts.load(opts.oldPath); err == nil && strings.TrimSpace(prev.Workspace) != strings.TrimSpace(res.Workspace) {
		fmt.Fprintf(opts.streams.ErrOut, "agent: warning: the files hold different workspaces (%s and %s)\n", textsafe.Quote(prev.Workspace), textsafe.Quote(res.Workspace))
	}
	if opts.output == "json" {
		return writeJSON(opts.streams.Out, res)
	}
	return writeDiffText(opts.streams.Out, res)
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
