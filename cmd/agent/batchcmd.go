package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

// batchSpec describes a mutating command over a list of emails (offboard,
// revoke).
type batchSpec struct {
	cmd       *cobra.Command // Use, Short, Long, Example
	emailHelp string
	run       func(ctx context.Context, s *session, targets []string, b flows.Batch) ([]flows.Result, error)
}

// batchCommand builds a command that takes --email (repeatable) and
// --from-file, validates them before any browser starts, and runs spec.run
// as a mutation.
func (a *app) batchCommand(spec batchSpec) *cobra.Command {
	var emails []string
	var fromFile string
	var targets []string
	mf := &mutateFlags{}
	cmd := spec.cmd
	cmd.Args = noArgs
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if err := mf.validate(a); err != nil {
			return err
		}
		all, err := a.readTargets(emails, fromFile, mf)
		if err != nil {
			return err
		}
		targets, err = flows.ValidateTargets(all, mf.policy())
		return err
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		mu := &mutation{a: a, flags: mf.change, command: cmd.Name(), targets: targets,
			run: func(s *session, b flows.Batch) ([]flows.Result, error) {
				return spec.run(cmd.Context(), s, targets, b)
			}}
		return mu.execute(cmd.Context())
	}
	cmd.Flags().StringArrayVar(&emails, "email", nil, spec.emailHelp)
	cmd.Flags().StringVar(&fromFile, "from-file", "", "a file of emails, one per line (- for standard input)")
	mf.register(cmd, true)
	return cmd
}

// roleSpec describes a mutating command on one email with a role (invite,
// set-role).
type roleSpec struct {
	cmd         *cobra.Command
	emailHelp   string
	defaultRole string // "" makes --role required
	run         func(ctx context.Context, s *session, email string, role roster.Role, b flows.Batch) (flows.Result, error)
}

// roleCommand builds a command that takes --email and --role, validates
// them before any browser starts, and runs spec.run as a mutation.
func (a *app) roleCommand(spec roleSpec) *cobra.Command {
	var email, roleName, target string
	var role roster.Role
	mf := &mutateFlags{}
	cmd := spec.cmd
	cmd.Args = noArgs
	cmd.PreRunE = func(*cobra.Command, []string) error {
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
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		name := cmd.Name()
		if spec.defaultRole == "" {
			name += " " + string(role)
		}
		mu := &mutation{a: a, flags: mf.change, command: name, targets: []string{target},
			run: func(s *session, b flows.Batch) ([]flows.Result, error) {
				r, err := spec.run(cmd.Context(), s, target, role, b)
				if r.Email == "" {
					return nil, err
				}
				return []flows.Result{r}, err
			}}
		return mu.execute(cmd.Context())
	}
	cmd.Flags().StringVar(&email, "email", "", spec.emailHelp)
	cmd.Flags().StringVar(&roleName, "role", spec.defaultRole, "Admin, Editor, Viewer or Sales rep")
	mf.register(cmd, false)
	return cmd
}
