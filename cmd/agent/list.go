package main

import (
	"github.com/spf13/cobra"
)

func (a *app) listCommand() *cobra.Command {
	var (
		output string
		csvRaw bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every member and pending invitation",
		Example: `  agent list --workspace 1234 --session ~/.config/clay-agent/session.json
  agent list -o json | jq '.members[] | select(.role == "Admin") | .email'
  agent list -o csv > members.csv`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			a.jsonErrors = output == "json"
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
			return writeRoster(a.stdout, r, output, csvRaw)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or csv")
	registerCSVRaw(cmd, &csvRaw)
	return cmd
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
