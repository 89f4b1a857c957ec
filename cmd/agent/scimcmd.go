package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/flows"
)

// envSCIMToken holds the SCIM bearer token when no --token-file names one.
const envSCIMToken = "CLAY_SCIM_TOKEN"

// minSCIMToken is the shortest bearer token the service accepts.
const minSCIMToken = 32

// scimOptions are the settings of `agent scim serve`.
type scimOptions struct {
	listen, tokenFile, stateDir string
	tlsCert, tlsKey             string
	publicURL                   string
	maxRosterAge, mutationWait  time.Duration
	defaultRole, emailFrom      string
	conflict                    string
	maxRemovalsPerHour          int
	allowDomains                []string
	dryRun                      bool
	rate                        float64
	burst                       int
	auditLog, auditKeyFile      string
	lockDir                     string
	lockTimeout                 time.Duration
	webhookURL                  string
	roleMapFlag, roleMapFile    string

	token    []byte
	roleMap  map[string]roster.Role
	role     roster.Role
	hook     *webhook.Client
	from     scim.EmailSource
	existing scim.ConflictMode
}

func (a *app) scimCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scim",
		Short: "Serve SCIM 2.0 for identity providers (Okta, Entra)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.scimServeCommand())
	return cmd
}

func (a *app) scimServeCommand() *cobra.Command {
	o := &scimOptions{}
	cmd := &cobra.Command{
		Use:         "serve",
		Annotations: map[string]string{annotationMinVerbosity: "1"},
		Short:       "Serve SCIM 2.0 under /scim/v2, acting on the Team page with the agent's flows",
		Long: `serve speaks SCIM 2.0 (RFC 7643/7644) to an identity provider under /scim/v2 and
performs each request with the agent's flows: POST /Users invites, PATCH or PUT
active=false and DELETE offboard, active=true invites again, membership of the
groups "Clay Admin", "Clay Editor", "Clay Viewer" and "Clay Sales rep" sets the
role. Reads are answered from the kept roster (refreshed when older than
--max-roster-age or after a change). Changes wait in a queue kept in --state-dir
and are answered when verified; one that takes longer than --mutation-wait is
answered 503 with Retry-After and finished all the same, and a repeated request
never acts twice. After a crash the queue is finished on the next start.

The bearer token comes from --token-file or CLAY_SCIM_TOKEN, never from a flag
value, and is compared in constant time. Serve TLS with --tls-cert and --tls-key,
or put it behind a reverse proxy that terminates TLS. Every action is in the
audit log with the SCIM request id and the client. The mutating commands' safety
rules apply (never the signed-in user or the last Admin, --allow-domain), and
--max-removals-per-hour stops deprovisioning and alerts (--webhook) when passed.
/healthz and /metrics are served beside /scim/v2.`,
		Example: `  agent scim serve --listen 0.0.0.0:8443 --token-file /run/secrets/scim-token --tls-cert tls.crt --tls-key tls.key
  CLAY_SCIM_TOKEN=… agent scim serve --listen 127.0.0.1:8080 --public-url https://scim.corp.com`,
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return o.validate(a)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.scimServe(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "address to serve SCIM, /healthz and /metrics on")
	f.StringVar(&o.tokenFile, "token-file", "", "a file holding the bearer token (mode 0600; env "+envSCIMToken+")")
	f.StringVar(&o.stateDir, "state-dir", "", "where the service keeps its store (default under $XDG_STATE_HOME/clay-agent/scim)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "and this key (PEM)")
	f.StringVar(&o.publicURL, "public-url", "", "the service's URL as clients reach it, for meta.location (default: from each request)")
	f.DurationVar(&o.maxRosterAge, "max-roster-age", 60*time.Second, "read the Team page again when the kept roster is older than this")
	f.DurationVar(&o.mutationWait, "mutation-wait", 25*time.Second, "how long a change may take before the answer is 503 with Retry-After (the change goes on)")
	f.StringVar(&o.defaultRole, "default-role", string(roster.Editor), "the role of a user created without a group")
	f.StringVar(&o.emailFrom, "email-from", "work", "which address to invite: work (the primary work email, else userName) or username")
	f.StringVar(&o.conflict, "conflict", "error", "a POST for an existing member or invitee: error (409 uniqueness) or existing (answer the existing user)")
	f.IntVar(&o.maxRemovalsPerHour, "max-removals-per-hour", 10, "stop deprovisioning, and alert, past this many removals in an hour")
	f.StringSliceVar(&o.allowDomains, "allow-domain", nil, "only touch emails in these domains (repeatable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "answer as if the changes were made, but only log them")
	f.Float64Var(&o.rate, "rate", 20, "requests per second allowed per client")
	f.IntVar(&o.burst, "burst", 40, "requests a client may send at once")
	f.StringVar(&o.auditLog, "audit-log", "", "the audit log (env "+envAuditLog+"; default under the user's state directory)")
	f.StringVar(&o.auditKeyFile, "audit-key-file", "", "sign the audit records with the key in this file (env "+envAuditKeyFile+")")
	f.StringVar(&o.lockDir, "lock-dir", "", "where the per-workspace lock files go (default under the user's state directory)")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 2*time.Minute, "how long a change waits for another run against the same workspace")
	f.StringVar(&o.webhookURL, "webhook", "", "post an alert here when deprovisioning is stopped (env "+webhook.EnvURL+")")
	f.StringVar(&o.roleMapFlag, "entra-role-map", "", roleMapUsage)
	f.StringVar(&o.roleMapFile, "entra-role-map-file", "", roleMapFileUsage)
	return cmd
}

// validate checks every setting before anything starts (exit 2).
func (o *scimOptions) validate(a *app) error {
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usageError("--listen %q is not HOST:PORT: %v", o.listen, err)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	if o.tokenFile == "" && a.getenv(envSCIMToken) == "" {
		return usageError("a bearer token is required: --token-file FILE or %s", envSCIMToken)
	}
	if err := o.parseModes(); err != nil {
		return err
	}
	if err := o.loadRoleMap(); err != nil {
		return err
	}
	if o.maxRemovalsPerHour < 1 {
		return usageError("--max-removals-per-hour must be at least 1")
	}
	if o.maxRosterAge <= 0 || o.mutationWait <= 0 || o.lockTimeout < 0 {
		return usageError("--max-roster-age and --mutation-wait must be positive, --lock-timeout not negative")
	}
	if o.rate <= 0 || o.burst < 1 {
		return usageError("--rate must be positive and --burst at least 1")
	}
	for _, d := range o.allowDomains {
		if !validDomain(d) {
			return usageError("--allow-domain %s is not a domain name (e.g. corp.com)", quoteFlagValue(d))
		}
	}
	if _, err := a.readAuditKey("--audit-key-file", o.auditKeyFile); err != nil {
		return err
	}
	raw := o.webhookURL
	if raw == "" {
		raw = a.getenv(webhook.EnvURL)
	}
	if raw != "" {
		c, err := webhook.New(raw)
		if err != nil {
			return fmt.Errorf("%w: --webhook (or %s): %w", agent.ErrUsage, webhook.EnvURL, err)
		}
		o.hook = c
	}
	if o.stateDir == "" {
		o.stateDir = filepath.Join(filepath.Dir(audit.DefaultPath()), "scim")
	}
	return a.config().Validate()
}

// parseModes reads --default-role, --email-from and --conflict.
func (o *scimOptions) parseModes() error {
	var err error
	if o.role, err = roster.ParseRole(o.defaultRole); err != nil {
		return usageError("--default-role: %v", err)
	}
	switch o.emailFrom {
	case "work":
		o.from = scim.EmailWork
	case "username":
		o.from = scim.EmailUserName
	default:
		return usageError("--email-from must be work or username, got %q", o.emailFrom)
	}
	switch o.conflict {
	case "error":
		o.existing = scim.ConflictError
	case "existing":
		o.existing = scim.ConflictReturnExisting
	default:
		return usageError("--conflict must be error or existing, got %q", o.conflict)
	}
	return nil
}

// readSCIMToken reads the bearer token from path (mode 0600 or stricter)
// or CLAY_SCIM_TOKEN. It is never printed.
func (a *app) readSCIMToken(path string) ([]byte, error) {
	var tok []byte
	switch {
	case path != "":
		fi, err := os.Stat(path)
		if err != nil {
			return nil, usageError("--token-file: %v", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, usageError("--token-file %s is not a regular file", path)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, usageError("--token-file %s can be read by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, usageError("--token-file: %v", err)
		}
		tok = bytes.TrimSpace(data)
	case a.getenv(envSCIMToken) != "":
		tok = []byte(strings.TrimSpace(a.getenv(envSCIMToken)))
	default:
		return nil, usageError("a bearer token is required: --token-file FILE or %s", envSCIMToken)
	}
	if len(tok) < minSCIMToken {
		return nil, usageError("the bearer token is %d bytes long: use at least %d random bytes (e.g. openssl rand -hex 32)", len(tok), minSCIMToken)
	}
	return tok, nil
}

// scimServe runs the service until ctx is done.
func (a *app) scimServe(ctx context.Context, o *scimOptions) error {
	tok, err := a.readSCIMToken(o.tokenFile)
	if err != nil {
		return err
	}
	o.token = tok
	cfg := a.config()
	if _, err := agent.LoadSession(cfg.SessionFile, a.now()); err != nil {
		return err
	}
	log := a.log.Named("scim")
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return usageError("--state-dir %s: %v", o.stateDir, err)
	}
	logPath := a.auditLogPath(o.auditLog)
	alog, err := a.openAuditLog(logPath, o.auditKeyFile, append([]audit.Option{audit.WithActor("scim"), audit.WithWorkspace(cfg.Workspace)}, a.auditOptions...)...)
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer alog.Close()
	lockDir := o.lockDir
	if lockDir == "" {
		lockDir = lock.DefaultDir()
	}
	backend := newSCIMBackend(a, log, alog, flows.Policy{MaxRemovals: o.maxRemovalsPerHour, AllowDomains: o.allowDomains},
		lock.PathFor(lockDir, cfg.Workspace), o.lockTimeout)
	defer backend.Close()
	return a.scimListen(ctx, o, backend, log, cfg.Workspace)
}

// scimConfig is the service's configuration from the options.
func (a *app) scimConfig(ctx context.Context, o *scimOptions, backend scim.Backend, log *zap.Logger, reg *prometheus.Registry, workspace string) scim.Config {
	return scim.Config{
		Backend:            backend,
		StatePath:          filepath.Join(o.stateDir, "scim.db"),
		Token:              o.token,
		Workspace:          workspace,
		BaseURL:            strings.TrimRight(o.publicURL, "/"),
		MaxRosterAge:       o.maxRosterAge,
		MutationWait:       o.mutationWait,
		RatePerClient:      o.rate,
		Burst:              o.burst,
		DefaultRole:        o.role,
		EmailFrom:          o.from,
		Existing:           o.existing,
		MaxRemovalsPerHour: o.maxRemovalsPerHour,
		OnTrip:             a.scimTripAlert(ctx, log, o.hook, workspace),
		DryRun:             o.dryRun,
		Logger:             log,
		Registry:           reg,
		Now:                a.now,
		RoleMap:            o.roleMap,
	}
}

// scimListen opens the service's store and its listener, and serves
// until ctx is done.
func (a *app) scimListen(ctx context.Context, o *scimOptions, backend scim.Backend, log *zap.Logger, workspace string) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	srv, err := scim.New(a.scimConfig(ctx, o, backend, log, reg, workspace))
	if err != nil {
		return fmt.Errorf("scim: %w", err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", srv.Handler())
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageError("--listen %s: %v", o.listen, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: scim.MaxHeaderBytes}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	if scheme == "http" && !isLoopback(ln.Addr()) {
		log.Warn("serving SCIM over plain HTTP on a non-loopback address: terminate TLS in front of it (a reverse proxy) or pass --tls-cert and --tls-key")
	}
	fmt.Fprintf(a.stdout, "serving SCIM 2.0 on %s://%s/scim/v2 for workspace %s (state in %s)\n", scheme, ln.Addr(), workspace, o.stateDir)
	return serveSCIM(ctx, o, srv, hs, ln, log)
}

// serveSCIM runs the worker and the HTTP server until ctx is done or one
// of them fails, then stops both.
func serveSCIM(ctx context.Context, o *scimOptions, srv *scim.Server, hs *http.Server, ln net.Listener, log *zap.Logger) error {
	workerErr := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { workerErr <- srv.Run(runCtx) }()
	httpErr := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			httpErr <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			httpErr <- hs.Serve(ln)
		}
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		serveErr = fmt.Errorf("scim: http: %w", err)
	case err := <-workerErr:
		serveErr = err
		workerErr <- nil
		if errors.Is(err, scim.ErrStoreCorrupt) {
			// keep answering: /healthz says unavailable (and why) and the
			// API 503, until the service is stopped and its store restored
			log.Error("the state store is corrupt: serving health checks until stopped", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-httpErr:
			}
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownTimeout)
	defer cancel()
	_ = hs.Shutdown(shutdownCtx)
	stop()
	if err := <-workerErr; err != nil && !errors.Is(err, context.Canceled) && serveErr == nil {
		serveErr = err
	}
	log.Info("stopped")
	return serveErr
}

// scimTripAlert logs and posts an alert when the removal circuit breaker
// stops deprovisioning.
func (a *app) scimTripAlert(ctx context.Context, log *zap.Logger, hook *webhook.Client, workspace string) func(string) {
	return func(reason string) {
		log.Error("deprovisioning stopped: the removal circuit breaker tripped", zap.String("reason", reason))
		if hook == nil {
			return
		}
		msg := map[string]any{
			"text":      snapshot.SlackEscape("Clay workspace " + workspace + ": SCIM deprovisioning stopped: " + reason + ". Check the identity provider before it goes on."),
			"workspace": workspace,
			"scim":      map[string]any{"breaker": "open", "reason": reason},
		}
		if err := hook.Post(context.WithoutCancel(ctx), msg); err != nil {
			log.Warn("posting the breaker alert failed", zap.Error(err))
		}
	}
}

func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
