package main

import (
	"context"
	"io"

	"github.com/clay-agent/clay-agent/agent/engine"
)

// The commands are shaped alike: each has an Options struct holding its
// flags' values, its streams and the dependencies it reaches the outside
// through; a constructor that binds the flags into the Options; and a run
// function that takes the Options and nothing else. Tests call the run
// function with fake dependencies and buffers: no flags, no browser.
//
//	func newFooCmd(a *app, runF func(context.Context, *fooOptions) error) *cobra.Command
//	func fooRun(ctx context.Context, opts *fooOptions) error

// streams are the streams a command reads and writes: the process's, or a
// test's buffers.
type streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// streams returns the app's streams.
func (a *app) streams() streams {
	return streams{In: a.stdin, Out: a.stdout, ErrOut: a.stderr}
}

// sessionOpener opens a Team page with its browser; the app's opener
// checks the configuration and the session file before Chrome starts.
type sessionOpener func(ctx context.Context) (engine.Session, error)
