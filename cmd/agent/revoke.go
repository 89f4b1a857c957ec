package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/flows"
)

func (a *app) revokeCommand() *cobra.Command {
	return a.batchCommand(batchSpec{
		cmd: &cobra.Command{
			Use:   "revoke",
			Short: "Revoke pending invitations by email (members are left alone)",
			Long: `revoke revokes the pending invitation of each email and verifies it is gone. An
email without a pending invitation counts as done (already-absent). Members are
never touched: use offboard, which also revokes invitations.`,
			Example: `  agent revoke --email wrong.address@corp.com --yes`,
		},
		emailHelp: "an invited email to revoke (repeatable)",
		run: func(ctx context.Context, s *session, targets []string, b flows.Batch) ([]flows.Result, error) {
			return s.team.Revoke(ctx, targets, b)
		},
	})
}
