package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

func (a *app) listCommand() *cobra.Command {
	var (
		output          string
		csvRaw          bool
		allowUnreadable bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every member and pending invitation",
		Example: `  agent list --workspace 1234 --session ~/.config/clay-agent/session.json
  agent list -o json | jq '.members[] | select(.role == "Admin") | .email'
  agent list -o csv > members.csv`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := checkFormat(output); err != nil {
				return err
			}
			return checkCSVRaw(csvRaw, output)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			r, err := s.team.List(ctx, s.cfg.Workspace)
			if err != nil {
				return s.fail("list", err)
			}
			if err := writeRoster(a.stdout, r, output, csvRaw); err != nil {
				return err
			}
			return a.checkUnreadable(r, allowUnreadable)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or csv")
	registerCSVRaw(cmd, &csvRaw)
	cmd.Flags().BoolVar(&allowUnreadable, "allow-unreadable", false, "exit 0 even when some rows have controls but no readable email (they are listed all the same)")
	return cmd
}

// errUnreadable means the list shows rows whose email could not be read.
var errUnreadable = errors.New("rows with no readable email")

// checkUnreadable warns about each row whose email could not be read and,
// unless allowed, fails the command (exit 1): a roster with a seat it
// cannot name is not a complete answer.
func (a *app) checkUnreadable(r *roster.Roster, allow bool) error {
	if len(r.Unreadable) == 0 {
		return nil
	}
	if !a.jsonErrors || allow {
		for _, u := range r.Unreadable {
			fmt.Fprintf(a.stderr, "agent: warning: a %s row with controls but no readable email: %s\n", u.Kind, textsafe.Quote(collapseSpace(u.Text)))
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
