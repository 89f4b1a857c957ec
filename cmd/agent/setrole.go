package main

import (
	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

func init() { registerCommand((*app).setRoleCommand) }

func (a *app) setRoleCommand() *cobra.Command {
	var email, roleName string
	var target string
	var role roster.Role
	mf := &mutateFlags{}
	cmd := &cobra.Command{
		Use:   "set-role",
		Short: "Change a member's role with the row's role dropdown, verified",
		Long: `set-role opens the member row's role dropdown (a native select, or a list that
opens in a portal), picks the role and verifies the row shows it. The same role
as now is a no-op (unchanged). Demoting the signed-in user or the last Admin is
refused (exit 5).`,
		Example: `  agent set-role --email analyst@corp.com --role viewer --yes`,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := mf.validate(a); err != nil {
				return err
			}
			if roleName == "" {
				return usageError("--role is required (Admin, Editor, Viewer or Sales rep)")
			}
			var err error
			if role, err = roster.ParseRole(roleName); err != nil {
				return usageError("--role: %v", err)
			}
			if email == "" {
				return usageError("--email is required")
			}
			ts, err := flows.ValidateTargets([]string{email}, mf.policy())
			if err != nil {
				return err
			}
			target = ts[0]
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			mu := &mutation{a: a, flags: mf, command: "set-role " + string(role), targets: []string{target},
				run: func(s *session, b flows.Batch) ([]flows.Result, error) {
					r, err := s.team.SetRole(cmd.Context(), target, role, b)
					return singleResult(r, err)
				}}
			return mu.execute(cmd)
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the member's email")
	cmd.Flags().StringVar(&roleName, "role", "", "Admin, Editor, Viewer or Sales rep")
	mf.register(cmd, false)
	return cmd
}
