package main

import (
	"context"
	"crypto/tls"
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
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
	"github.com/clay-agent/clay-agent/agent/secret"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/flows"
)

// envSCIMToken holds the SCIM bearer token when no --token-file names one.
const envSCIMToken = "CLAY_SCIM_TOKEN"

// minSCIMToken is the shortest bearer token the service accepts.
const minSCIMToken = 32

// scimServeOptions are the settings and dependencies of `agent scim
// serve`.
type scimServeOptions struct {
	streams
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

	// built by validate
	role     roster.Role
	roleMap  map[string]roster.Role
	hook     *webhook.Client
	from     scim.EmailSource
	existing scim.ConflictMode
	// tlsConfig holds the key pair of --tls-cert and --tls-key, read
	// before anything starts.
	tlsConfig *tls.Config

	getenv      func(string) string
	auditKey    auditKeyReader
	checkConfig func() error
	// readToken reads the bearer token from --token-file or the
	// environment.
	readToken    func(path string) ([]byte, error)
	check        sessionCheck
	auditLogPath func(flagValue string) string
	openAudit    auditOpener
	newBackend   scimBackendMaker
	listenOn     listenFunc
	now          func() time.Time
	log          *zap.Logger
}

// scimServiceBackend is the SCIM service's backend with the browser it
// keeps open between requests.
type scimServiceBackend interface {
	scim.Backend
	// Close closes the browser.
	Close()
}

// scimBackendMaker builds the backend that acts on the Team page, under
// the workspace lock at lockPath, auditing to alog.
type scimBackendMaker func(log *zap.Logger, alog *audit.Log, policy flows.Policy, lockPath string, lockTimeout time.Duration) scimServiceBackend

// newSCIMCmd builds `agent scim` and its subcommand serve.
func newSCIMCmd(a *app) *cobra.Command {
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
	cmd.AddCommand(newSCIMServeCmd(a, nil))
	return cmd
}

// scimServeLong is scim serve's help.
const scimServeLong = `serve speaks SCIM 2.0 (RFC 7643/7644) to an identity provider under /scim/v2 and
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
/healthz and /metrics are served beside /scim/v2.`

// scimServeExample is scim serve's examples.
const scimServeExample = `  agent scim serve --listen 0.0.0.0:8443 --token-file /run/secrets/scim-token --tls-cert tls.crt --tls-key tls.key
  CLAY_SCIM_TOKEN=… agent scim serve --listen 127.0.0.1:8080 --public-url https://scim.corp.com`

// newSCIMServeCmd builds `agent scim serve`; runF, when not nil, runs
// instead of scimServeRun.
func newSCIMServeCmd(a *app, runF func(context.Context, *scimServeOptions) error) *cobra.Command {
	o := &scimServeOptions{streams: a.streams(), getenv: a.envValue, auditKey: a.readAuditKey, checkConfig: a.checkConfig,
		readToken: a.readSCIMToken, check: a.checkSession, auditLogPath: a.auditLogPath, openAudit: a.openAuditWith,
		newBackend: a.newSCIMBackend, listenOn: listenTCP, now: a.clock}
	cmd := &cobra.Command{
		Use:         "serve",
		Annotations: map[string]string{annotationMinVerbosity: "1"},
		Short:       "Serve SCIM 2.0 under /scim/v2, acting on the Team page with the agent's flows",
		Long:        scimServeLong,
		Example:     scimServeExample,
		Args:        noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			o.log = a.log
			return o.validate()
		},
		RunE: dispatchRun(o, runF, scimServeRun),
	}
	o.register(cmd.Flags())
	return cmd
}

// register binds scim serve's flags.
func (o *scimServeOptions) register(f *pflag.FlagSet) {
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
}

// validate checks every setting before anything starts (exit 2).
func (o *scimServeOptions) validate() error {
	if err := o.validateServer(); err != nil {
		return err
	}
	if err := o.validateUsers(); err != nil {
		return err
	}
	if err := o.validateLimits(); err != nil {
		return err
	}
	if err := o.validateOutputs(); err != nil {
		return err
	}
	if o.stateDir == "" {
		o.stateDir = filepath.Join(filepath.Dir(audit.DefaultPath()), "scim")
	}
	return o.checkConfig()
}

// validateServer checks the listen address, TLS and that a bearer token
// is named.
func (o *scimServeOptions) validateServer() error {
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usageError("--listen %q is not HOST:PORT: %v", o.listen, err)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	if o.tokenFile == "" && o.getenv(envSCIMToken) == "" {
		return usageError("a bearer token is required: --token-file FILE or %s", envSCIMToken)
	}
	return nil
}

// validateUsers checks how SCIM users become members: the default role,
// the address invited and what a POST for an existing one does.
func (o *scimServeOptions) validateUsers() error {
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
	return o.loadRoleMap()
}

// validateLimits checks the safety limits, the timings and the rate.
func (o *scimServeOptions) validateLimits() error {
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
	return nil
}

// validateOutputs checks the audit key and builds the webhook client.
func (o *scimServeOptions) validateOutputs() error {
	if _, err := o.auditKey("--audit-key-file", o.auditKeyFile); err != nil {
		return err
	}
	raw := o.webhookURL
	if raw == "" {
		raw = o.getenv(webhook.EnvURL)
	}
	if raw != "" {
		c, err := webhook.New(raw)
		if err != nil {
			return fmt.Errorf("%w: --webhook (or %s): %w", agent.ErrUsage, webhook.EnvURL, err)
		}
		o.hook = c
	}
	return nil
}

// readSCIMToken reads the bearer token from path or CLAY_SCIM_TOKEN; a
// file is read by secret.Read (mode 0600 or stricter, owned by the
// effective user, links followed, at most maxSCIMToken bytes). It is never
// printed.
func (a *app) readSCIMToken(path string) ([]byte, error) {
	tok, from, err := secret.FromFileOrEnv(path, envSCIMToken, a.getenv,
		secret.Options{Kind: "SCIM token", MaxSize: maxSCIMToken, Trim: true})
	if err != nil {
		return nil, fmt.Errorf("--token-file (or %s): %w", envSCIMToken, err)
	}
	if tok == nil {
		return nil, usageError("a bearer token is required: --token-file FILE or %s", envSCIMToken)
	}
	if len(tok) < minSCIMToken {
		return nil, usageError("the bearer token from %s is %d bytes long: use at least %d random bytes (e.g. openssl rand -hex 32)", from, len(tok), minSCIMToken)
	}
	return tok, nil
}

// scimServeRun reads the secrets (the token, the TLS key), checks the
// session and the state directory, opens the audit log and the store, and
// runs the service until ctx is done.
func scimServeRun(ctx context.Context, o *scimServeOptions) error {
	tok, err := o.readToken(o.tokenFile)
	if err != nil {
		return err
	}
	if o.tlsConfig, err = readTLSKeyPair(o.tlsCert, o.tlsKey); err != nil {
		return err
	}
	workspace, err := o.check()
	if err != nil {
		return err
	}
	log := orNop(o.log).Named("scim")
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return usageError("--state-dir %s: %v", o.stateDir, err)
	}
	alog, err := o.openAudit(o.auditLogPath(o.auditLog), o.auditKeyFile, audit.WithActor("scim"), audit.WithWorkspace(workspace))
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer alog.Close()
	backend := o.newBackend(log, alog, flows.Policy{MaxRemovals: o.maxRemovalsPerHour, AllowDomains: o.allowDomains},
		lock.PathFor(o.lockDirOrDefault(), workspace), o.lockTimeout)
	defer backend.Close()
	svc := &scimService{o: o, log: log, workspace: workspace}
	if err := svc.open(ctx, backend, tok); err != nil {
		return err
	}
	defer svc.srv.Close()
	if err := svc.listen(); err != nil {
		return err
	}
	err = svc.run(ctx)
	log.Info("stopped")
	return err
}

// lockDirOrDefault is --lock-dir, or the user's state directory's.
func (o *scimServeOptions) lockDirOrDefault() string {
	if o.lockDir == "" {
		return lock.DefaultDir()
	}
	return o.lockDir
}

// scimService is the SCIM service while it runs: its store and worker
// (srv), and the HTTP server in front of them.
type scimService struct {
	o         *scimServeOptions
	log       *zap.Logger
	workspace string
	reg       *prometheus.Registry
	srv       *scim.Server
	hs        *http.Server
	ln        net.Listener
}

// open opens the service's store in --state-dir, with its metrics.
func (s *scimService) open(ctx context.Context, backend scim.Backend, token []byte) error {
	o := s.o
	s.reg = prometheus.NewRegistry()
	if err := s.reg.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	srv, err := scim.New(scim.Config{
		Backend:            backend,
		StatePath:          filepath.Join(o.stateDir, "scim.db"),
		Token:              token,
		Workspace:          s.workspace,
		BaseURL:            strings.TrimRight(o.publicURL, "/"),
		MaxRosterAge:       o.maxRosterAge,
		MutationWait:       o.mutationWait,
		RatePerClient:      o.rate,
		Burst:              o.burst,
		DefaultRole:        o.role,
		EmailFrom:          o.from,
		Existing:           o.existing,
		MaxRemovalsPerHour: o.maxRemovalsPerHour,
		OnTrip:             scimTripAlert(ctx, s.log, o.hook, s.workspace),
		DryRun:             o.dryRun,
		Logger:             s.log,
		Registry:           s.reg,
		Now:                o.now,
		RoleMap:            o.roleMap,
	})
	if err != nil {
		return fmt.Errorf("scim: %w", err)
	}
	s.srv = srv
	return nil
}

// listen opens the listener and says where the service is, warning of
// plain HTTP off the loopback interface.
func (s *scimService) listen() error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.Handle("/", s.srv.Handler())
	ln, err := s.o.listenOn(s.o.listen)
	if err != nil {
		return usageError("--listen %s: %v", s.o.listen, err)
	}
	s.ln = ln
	s.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: scim.MaxHeaderBytes, TLSConfig: s.o.tlsConfig}
	scheme := "http"
	if s.o.tlsCert != "" {
		scheme = "https"
	}
	if scheme == "http" && !isLoopback(ln.Addr()) {
		s.log.Warn("serving SCIM over plain HTTP on a non-loopback address: terminate TLS in front of it (a reverse proxy) or pass --tls-cert and --tls-key")
	}
	fmt.Fprintf(s.o.Out, "serving SCIM 2.0 on %s://%s/scim/v2 for workspace %s (state in %s)\n", scheme, ln.Addr(), s.workspace, s.o.stateDir)
	return nil
}

// serveHTTP serves on the listener, with TLS when asked, until the
// server is shut down, and sends its error.
func (s *scimService) serveHTTP(httpErr chan<- error) {
	if s.o.tlsCert != "" {
		httpErr <- s.hs.ServeTLS(s.ln, "", "") // the key pair read by readTLSKeyPair
	} else {
		httpErr <- s.hs.Serve(s.ln)
	}
}

// run runs the worker and the HTTP server until ctx is done or either
// fails, then shuts both down. A corrupt store keeps the HTTP server
// answering (health checks say why) until ctx is done.
func (s *scimService) run(ctx context.Context) error {
	workerErr := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { workerErr <- s.srv.Run(runCtx) }()
	httpErr := make(chan error, 1)
	go s.serveHTTP(httpErr)
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
			s.log.Error("the state store is corrupt: serving health checks until stopped", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-httpErr:
			}
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownTimeout)
	defer cancel()
	_ = s.hs.Shutdown(shutdownCtx)
	stop()
	if err := <-workerErr; err != nil && !errors.Is(err, context.Canceled) && serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// scimTripAlert logs and posts an alert when the removal circuit breaker
// stops deprovisioning.
func scimTripAlert(ctx context.Context, log *zap.Logger, hook *webhook.Client, workspace string) func(string) {
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
