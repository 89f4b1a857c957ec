package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// commands builds every command of the CLI: the one place a command is
// registered.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		newListCmd(a, nil),
		newLoginCmd(a, nil),
		a.fixturesCommand(),
		newDoctorCmd(a, nil),
		newAuditCmd(a),
		newDiffCmd(a, nil),
		newHealthcheckCmd(a, nil),
		a.inviteCommand(),
		a.offboardCommand(),
		a.planCommand(),
		a.approveCommand(),
		a.applyCommand(),
		a.reconcileCommand(),
		newRecordCmd(a, nil),
		a.revokeCommand(),
		a.scimCommand(),
		a.serveCommand(),
		a.setRoleCommand(),
		newSmokeCmd(a, nil),
		a.snapshotCommand(),
	}
}

// annotationMinVerbosity on a command is the least verbosity it runs with
// ("1": info), for the servers, which log each run.
const annotationMinVerbosity = "agent/min-verbosity"

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
