package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// commandBuilders are the commands that register themselves from their own
// files with registerCommand, beyond the core ones rootCommand adds.
var commandBuilders []func(*app) *cobra.Command

// registerCommand adds a command to every app; call it from an init func.
func registerCommand(build func(*app) *cobra.Command) {
	commandBuilders = append(commandBuilders, build)
}

// extraCommands builds the registered commands for a.
func (a *app) extraCommands() []*cobra.Command {
	out := make([]*cobra.Command, 0, len(commandBuilders))
	for _, b := range commandBuilders {
		out = append(out, b(a))
	}
	return out
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
