package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// extraCommands lists the commands beyond the core ones.
func (a *app) extraCommands() []*cobra.Command {
	return nil
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
