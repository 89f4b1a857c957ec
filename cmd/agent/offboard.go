package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/flows"
)

func (a *app) offboardCommand() *cobra.Command {
	return a.batchCommand(batchSpec{
		cmd: &cobra.Command{
			Use:   "offboard",
			Short: "Remove members and revoke their pending invitations, verified and audited",
			Long: `offboard removes each email's member (trash control → confirmation dialog) and
revokes any pending invitation for that address, then verifies by reading the
page again. An email that is already absent counts as done (already-absent) and
nothing is clicked. Matching is by the whole email, case-insensitive; two rows
for one email stop the run (exit 4) without a click.

Refused (exit 5, nothing clicked, an audit record written): the signed-in user,
the last Admin, more removals than --max-removals, an email outside
--allow-domain. On a terminal it shows the plan and asks; elsewhere it needs
--yes.`,
			Example: `  agent offboard --email leaver@corp.com
  agent offboard --email a@corp.com --email b@corp.com --yes -o json
  agent offboard --from-file leavers.txt --allow-domain corp.com --dry-run`,
		},
		emailHelp: "an email to offboard (repeatable)",
		run: func(ctx context.Context, s *session, targets []string, b flows.Batch) ([]flows.Result, error) {
			return s.team.Offboard(ctx, targets, b)
		},
	})
}
