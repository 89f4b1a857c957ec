package main

import (
	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

func init() { registerCommand((*app).inviteCommand) }

func (a *app) inviteCommand() *cobra.Command {
	var email, roleName string
	var target string
	var role roster.Role
	mf := &mutateFlags{}
	cmd := &cobra.Command{
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
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if err := mf.validate(a); err != nil {
				return err
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
			mu := &mutation{a: a, flags: mf, command: "invite", targets: []string{target},
				run: func(s *session, b flows.Batch) ([]flows.Result, error) {
					r, err := s.team.Invite(cmd.Context(), target, role, b)
					return singleResult(r, err)
				}}
			return mu.execute(cmd)
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the address to invite")
	cmd.Flags().StringVar(&roleName, "role", "Editor", "Admin, Editor, Viewer or Sales rep")
	mf.register(cmd, false)
	return cmd
}

// singleResult wraps a one-target flow's result as a batch's.
func singleResult(r flows.Result, err error) ([]flows.Result, error) {
	if r.Email == "" {
		return nil, err
	}
	return []flows.Result{r}, err
}
