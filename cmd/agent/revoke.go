package main

import (
	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/flows"
)

func init() { registerCommand((*app).revokeCommand) }

func (a *app) revokeCommand() *cobra.Command {
	var emails []string
	var fromFile string
	mf := &mutateFlags{}
	var targets []string
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke pending invitations by email (members are left alone)",
		Long: `revoke revokes the pending invitation of each email and verifies it is gone. An
email without a pending invitation counts as done (already-absent). Members are
never touched: use offboard, which also revokes invitations.`,
		Example: `  agent revoke --email wrong.address@corp.com --yes`,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := mf.validate(a); err != nil {
				return err
			}
			all, err := a.readTargets(emails, fromFile, mf)
			if err != nil {
				return err
			}
			targets, err = flows.ValidateTargets(all, mf.policy())
			return err
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			mu := &mutation{a: a, flags: mf, command: "revoke", targets: targets,
				run: func(s *session, b flows.Batch) ([]flows.Result, error) {
					return s.team.Revoke(cmd.Context(), targets, b)
				}}
			return mu.execute(cmd)
		},
	}
	cmd.Flags().StringArrayVar(&emails, "email", nil, "an invited email to revoke (repeatable)")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "a file of emails, one per line (- for standard input)")
	mf.register(cmd, true)
	return cmd
}
