package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

func (a *app) inviteCommand() *cobra.Command {
	return a.roleCommand(roleSpec{
		cmd: &cobra.Command{
			Use:   "invite",
			Short: "Invite an email with a role, verified in the pending invitations",
			Long: `invite clicks "+ Invite", fills the dialog's email and role, sends it, and
verifies the address among the pending invitations. An address that is already a
member or already invited counts as done (already-member, already-invited) and
nothing is clicked; a different role is noted. An error shown by the page (no
seats left, invalid address) ends in exit 1 with the page's own words.
Roles: Admin, Editor (default; "User" and "Member" mean Editor), Viewer, Sales rep.`,
			Example: `  agent invite --email new.hire@corp.com
  agent invite --email analyst@corp.com --role viewer --yes -o json`,
		},
		emailHelp:   "the address to invite",
		defaultRole: "Editor",
		run: func(ctx context.Context, s *session, email string, role roster.Role, b flows.Batch) (flows.Result, error) {
			return s.team.Invite(ctx, email, role, b)
		},
	})
}
