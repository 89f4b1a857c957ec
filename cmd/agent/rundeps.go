package main

import (
	"context"
	"net"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// The dependencies through which the reading and serving commands
// (snapshot, serve, scim serve, reconcile, plan, approve, apply, fixtures
// serve) reach the outside, as their Options hold them. The app's
// implementations are here; tests pass fakes.

// dispatchRun is a command's RunE: it calls runF with the command's
// Options when a test gave one, else the command's run function.
func dispatchRun[T any](opts *T, runF, run func(context.Context, *T) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if runF != nil {
			return runF(cmd.Context(), opts)
		}
		return run(cmd.Context(), opts)
	}
}

// sessionCheck checks the configuration and the session file, before any
// lock is taken or browser started, and returns the workspace.
type sessionCheck func() (workspace string, err error)

// checkSession is the app's sessionCheck.
func (a *app) checkSession() (string, error) {
	cfg := a.config()
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	if _, err := agent.LoadSession(cfg.SessionFile, a.now()); err != nil {
		return "", err
	}
	return cfg.Workspace, nil
}

// checkConfig checks the global flags' configuration (exit 2) without
// reading the session file.
func (a *app) checkConfig() error { return a.config().Validate() }

// workspaceID is the workspace the global flags name, "" when none.
func (a *app) workspaceID() string { return a.config().Workspace }

// readSession is an open Team page that a reading command lists.
type readSession interface {
	// List reads the page with a complete scan.
	List(ctx context.Context) (*roster.Roster, error)
	// Fail keeps the page's artifacts of the failure err under label,
	// says where they are, and returns err.
	Fail(label string, err error) error
	// Close closes the browser.
	Close()
}

// readOpener opens a Team page to read; the app's opener checks the
// configuration and the session file before Chrome starts.
type readOpener func(ctx context.Context) (readSession, error)

// openReadSession is the app's readOpener.
func (a *app) openReadSession(ctx context.Context) (readSession, error) {
	s, err := a.openSession(ctx)
	if err != nil {
		return nil, err
	}
	return readPage{s}, nil
}

// readPage is a session as a readSession.
type readPage struct{ *session }

// List reads the session's workspace.
func (p readPage) List(ctx context.Context) (*roster.Roster, error) {
	return p.team.List(ctx, p.cfg.Workspace)
}

// Fail keeps the failure's artifacts.
func (p readPage) Fail(label string, err error) error { return p.fail(label, err) }

// auditKeyReader reads the audit key file named by a flag's value (else
// its environment variable); nil without one.
type auditKeyReader func(flagName, flagValue string) ([]byte, error)

// auditOpener opens the audit log at path, signing with the key named by
// keyFlag, with opts on every record.
type auditOpener func(path, keyFlag string, opts ...audit.Option) (*audit.Log, error)

// openAuditWith is the app's auditOpener: it adds the app's own audit
// options after opts.
func (a *app) openAuditWith(path, keyFlag string, opts ...audit.Option) (*audit.Log, error) {
	return a.openAuditLog(path, keyFlag, append(opts, a.auditOptions...)...)
}

// listenFunc opens the TCP listener a server serves on.
type listenFunc func(addr string) (net.Listener, error)

// listenTCP is the real listenFunc.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// envValue reads the app's environment as it is at the call: the
// commands are built before a test replaces a.getenv.
func (a *app) envValue(k string) string { return a.getenv(k) }

// clock is the app's clock as it is at the call.
func (a *app) clock() time.Time { return a.now() }

// orNop is log, or a logger that drops everything when log is nil.
func orNop(log *zap.Logger) *zap.Logger {
	if log == nil {
		return zap.NewNop()
	}
	return log
}
