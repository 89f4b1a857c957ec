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
		newFixturesCmd(a),
		newDoctorCmd(a, nil),
		newAuditCmd(a),
		newDiffCmd(a, nil),
		newHealthcheckCmd(a, nil),
		a.inviteCommand(),
		a.offboardCommand(),
		newPlanCmd(a, nil),
		newApproveCmd(a, nil),
		newApplyCmd(a, nil),
		newReconcileCmd(a, nil),
		newRecordCmd(a, nil),
		a.revokeCommand(),
		newSCIMCmd(a),
		newServeCmd(a, nil),
		a.setRoleCommand(),
		newSmokeCmd(a, nil),
		newSnapshotCmd(a, nil),
	}
}

// annotationMinVerbosity on a command is the least verbosity it runs with
// ("1": info), for the servers, which log each run.
const annotationMinVerbosity = "agent/min-verbosity"

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
