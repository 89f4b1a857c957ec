package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

func (a *app) setRoleCommand() *cobra.Command {
	return a.roleCommand(roleSpec{
		cmd: &cobra.Command{
			Use:   "set-role",
			Short: "Change a member's role with the row's role dropdown, verified",
			Long: `set-role opens the member row's role dropdown (a native select, or a list that
opens in a portal), picks the role and verifies the row shows it. The same role
as now is a no-op (unchanged). Demoting the signed-in user or the last Admin is
refused (exit 5).`,
			Example: `  agent set-role --email analyst@corp.com --role viewer --yes`,
		},
		emailHelp: "the member's email",
		run: func(ctx context.Context, s *session, email string, role roster.Role, b flows.Batch) (flows.Result, error) {
			return s.team.SetRole(ctx, email, role, b)
		},
	})
}
