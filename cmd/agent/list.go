package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

// listOptions are what `agent list` runs with.
type listOptions struct {
	streams streams
	// output is -o; csvRaw --csv-raw; allowUnreadable --allow-unreadable.
	output          string
	csvRaw          bool
	allowUnreadable bool
	// workspace is the workspace to read, settled in PreRunE.
	workspace string

	// openSession opens the Team page; readRoster reads it.
	openSession sessionOpener
	readRoster  func(ctx context.Context, s engine.Session, workspace string) (*roster.Roster, error)
	// artifacts keeps the page of a failed read.
	artifacts artifactKeeper
}

// readTeamRoster reads the roster from the session's Team page.
func readTeamRoster(ctx context.Context, s engine.Session, workspace string) (*roster.Roster, error) {
	return s.Team().List(ctx, workspace)
}

// newListCmd builds `agent list`; runF, when not nil, runs instead of
// listRun.
func newListCmd(a *app, runF func(context.Context, *listOptions) error) *cobra.Command {
	opts := &listOptions{streams: a.streams(), openSession: a.openEngineSession, readRoster: readTeamRoster, artifacts: a.artifactKeeper()}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every member and pending invitation",
		Example: `  agent list --workspace 1234 --session ~/.config/clay-agent/session.json
  agent list -o json | jq '.members[] | select(.role == "Admin") | .email'
  agent list -o csv > members.csv`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := checkFormat(opts.output); err != nil {
				return err
			}
			opts.workspace = a.workspace
			return checkCSVRaw(opts.csvRaw, opts.output)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table, json or csv")
	registerCSVRaw(cmd, &opts.csvRaw)
	cmd.Flags().BoolVar(&opts.allowUnreadable, "allow-unreadable", false, "exit 0 even when some rows have controls but no readable email (they are listed all the same)")
	return cmd
}

// listRun reads the Team page and prints its roster; rows with no
// readable email fail it unless allowed.
func listRun(ctx context.Context, opts *listOptions) error {
	s, err := opts.openSession(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := opts.readRoster(ctx, s, opts.workspace)
	if err != nil {
		return opts.artifacts.keep(s, "list", err)
	}
	if err := writeRoster(opts.streams.Out, r, opts.output, opts.csvRaw); err != nil {
		return err
	}
	// with -o json, errors are JSON: the warnings are left to the error
	return checkUnreadable(opts.streams.ErrOut, r, opts.allowUnreadable, opts.output != "json")
}

// errUnreadable means the list shows rows whose email could not be read.
var errUnreadable = errors.New("rows with no readable email")

// checkUnreadable warns on w about each row whose email could not be
// read (when warn or allow) and, unless allowed, fails the command (exit
// 1): a roster with a seat it cannot name is not a complete answer.
func checkUnreadable(w io.Writer, r *roster.Roster, allow, warn bool) error {
	if len(r.Unreadable) == 0 {
		return nil
	}
	if warn || allow {
		for _, u := range r.Unreadable {
			fmt.Fprintf(w, "agent: warning: a %s row with controls but no readable email: %s\n", u.Kind, textsafe.Quote(collapseSpace(u.Text)))
		}
	}
	if allow {
		return nil
	}
	return fmt.Errorf("%w: %d row(s) have a role or remove control but no email the agent can read; they are listed with their text (pass --allow-unreadable to accept them)", errUnreadable, len(r.Unreadable))
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
