package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // --tz works on hosts and images without a zoneinfo database

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/flows"
)

// Defaults of `agent serve`.
const (
	defaultServeListen     = "127.0.0.1:8080"
	defaultServeRunTimeout = 15 * time.Minute
	serveShutdownTimeout   = 5 * time.Second
)

// serveOptions are the flags and dependencies of `agent serve`.
type serveOptions struct {
	streams
	listen string
	at, tz string
	// tzSet is whether --tz was given.
	tzSet      bool
	every      string
	runOnStart bool
	grace      time.Duration
	runTimeout time.Duration
	// probe turns the probe of the Team page's controls on; probeEvery,
	// when positive, runs it on its own interval instead of after each
	// snapshot.
	probe      bool
	probeEvery time.Duration
	snap       snapshotSettings
	// idp, when it names sources, reconciles each snapshot with them;
	// autoApply then offboards inactive-in-idp seats through a plan, at
	// most autoMax per run.
	idp       idpFlags
	autoApply bool
	autoMax   int
	// shortIntervals lets tests use intervals under minServeInterval
	// (a hidden flag).
	shortIntervals bool

	// sched is built by validate.
	sched schedule.Schedule

	getenv      func(string) string
	auditKey    auditKeyReader
	checkConfig func() error
	// taker takes each snapshot; its check also runs once at the start.
	taker snapshotTaker
	// probePage proves the Team page's controls; keep keeps the page's
	// artifacts when a control is missing.
	probePage func(ctx context.Context, keep bool) (*flows.Probe, error)
	listenOn  listenFunc
	// applyPlan applies --auto-apply's plans; auditLogPath names the
	// audit log beside which their ledgers go.
	applyPlan    planApplier
	auditLogPath func(flagValue string) string
	now          func() time.Time
	log          *zap.Logger
}

// serveLong is serve's help.
const serveLong = `serve takes a snapshot (as ` + "`agent snapshot`" + ` does) every day at --snapshot-at in
--tz, or every --snapshot-every, until it is stopped. Each run starts a browser,
lists the Team page, saves the snapshot and closes the browser. Runs never
overlap: a run that falls due while the previous one is still going, or while
the machine was asleep, is skipped and logged as missed.

It serves, on --listen:
  GET /healthz  200 when the last run succeeded or none has finished yet, 503
                when it failed; the JSON body names the reason ("login
                required", "page changed", "bad input", "browser gone",
                "timeout", "error").
  GET /metrics  Prometheus metrics (clay_agent_*), among them the head of the
                audit log (--audit-log) as of the last successful run:
                clay_agent_audit_head_info{head="<hash>"} and
                clay_agent_audit_records.

After each snapshot (or every --probe-every instead) it proves every control the
flows need, as agent doctor does, without a destructive click. A control that
goes missing or ambiguous is page drift: /healthz answers 503 with reason "page
drift" and the controls under "drift", /metrics sets
clay_agent_page_control_ok{control="remove"} (etc.) to 0, and the webhook gets
one message when the drift begins and one when it ends, never every night in
between. --probe=false turns the probe off.

With --idp it reconciles each snapshot with the identity sources (as agent
reconcile does, on the roster just read): /metrics sets clay_agent_seats{finding}
and the webhook gets a message listing the findings that are new since the last
run. --auto-apply then offboards the inactive-in-idp seats through a plan file
(kept in --dir/plans) applied as agent apply does, at most
--auto-apply-max-removals per run, audited with the plan's digest.

SIGINT or SIGTERM stops it: no new run starts, a running one gets
--grace-period to finish and is cancelled after that. Snapshot files are
written atomically, so an abandoned run leaves no file behind. It then exits
with 0 when no run was in progress or the running one finished in time, and
with 1 when the running one had to be cancelled.

The flags, the workspace, the session file and --dir are checked before it
starts listening: a bad flag exits with 2, an expired session with 3.`

// serveExample is serve's examples.
const serveExample = `  agent serve --listen 0.0.0.0:8080 --dir /snapshots --snapshot-at 02:30 --tz Europe/Berlin --keep 90
  agent serve --dir ./snapshots --snapshot-every 6h --run-on-start --webhook "$SLACK_WEBHOOK"`

// newServeCmd builds `agent serve`; runF, when not nil, runs instead of
// serveRun.
func newServeCmd(a *app, runF func(context.Context, *serveOptions) error) *cobra.Command {
	o := &serveOptions{streams: a.streams(), getenv: a.envValue, auditKey: a.readAuditKey, checkConfig: a.checkConfig,
		taker: a.newSnapshotTaker(), probePage: a.probe, listenOn: listenTCP,
		applyPlan: a.applyPlanRun, auditLogPath: a.auditLogPath, now: a.clock}
	cmd := &cobra.Command{
		Use:         "serve",
		Annotations: map[string]string{annotationMinVerbosity: "1"},
		Short:       "Take snapshots on a schedule and serve /healthz and /metrics",
		Long:        serveLong,
		Example:     serveExample,
		Args:        noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			o.log, o.tzSet = a.log, cmd.Flags().Changed("tz")
			return o.validate()
		},
		RunE: dispatchRun(o, runF, serveRun),
	}
	o.register(cmd.Flags())
	return cmd
}

// register binds serve's flags.
func (o *serveOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.listen, "listen", defaultServeListen, "address for /healthz and /metrics")
	f.StringVar(&o.at, "snapshot-at", "", "take a snapshot every day at this time, HH:MM on a 24-hour clock")
	f.StringVar(&o.tz, "tz", "UTC", "the time zone of --snapshot-at, e.g. Europe/Berlin")
	f.StringVar(&o.every, "snapshot-every", "", "take a snapshot at this interval instead, e.g. 6h or 30m")
	f.BoolVar(&o.runOnStart, "run-on-start", false, "also take a snapshot right after starting")
	f.DurationVar(&o.grace, "grace-period", schedule.DefaultGracePeriod, "on SIGTERM, how long a running snapshot may go on before it is cancelled")
	f.DurationVar(&o.runTimeout, "run-timeout", defaultServeRunTimeout, "cancel a snapshot that takes longer than this (0: no limit)")
	f.BoolVar(&o.probe, "probe", true, "after each snapshot, prove every control the flows need, as agent doctor does (--probe=false: no probe)")
	f.DurationVar(&o.probeEvery, "probe-every", 0, "probe on this interval instead of after each snapshot, e.g. 1h")
	o.idp.register(f)
	f.BoolVar(&o.autoApply, "auto-apply", false, "with --idp: after each snapshot, offboard inactive-in-idp seats (and revoke such invitations) through a plan, audited as agent apply")
	f.IntVar(&o.autoMax, "auto-apply-max-removals", 3, "the most removals one --auto-apply run may make; more refuses the whole run")
	o.snap.register(f)
	f.BoolVar(&o.shortIntervals, testShortIntervalsFlag, false, "allow intervals under a minute (tests only)")
	_ = f.MarkHidden(testShortIntervalsFlag)
}

// validate checks every flag and builds the schedule, without touching
// the snapshots or the network.
func (o *serveOptions) validate() error {
	if err := o.validateSchedule(); err != nil {
		return err
	}
	if err := o.validateServer(); err != nil {
		return err
	}
	if err := o.validateSources(); err != nil {
		return err
	}
	return o.checkConfig()
}

// validateSchedule checks --snapshot-at, --tz and --snapshot-every and
// builds the schedule.
func (o *serveOptions) validateSchedule() error {
	switch {
	case o.at != "" && o.every != "":
		return usageError("give either --snapshot-at or --snapshot-every, not both")
	case o.at == "" && o.every == "":
		return usageError("give a schedule: --snapshot-at HH:MM (daily) or --snapshot-every DURATION")
	case o.every != "" && o.tzSet:
		return usageError("--tz applies to --snapshot-at only")
	}
	if o.at != "" {
		loc, err := time.LoadLocation(o.tz)
		if err != nil || o.tz == "" {
			return usageError("--tz %q is not a known time zone (e.g. UTC, Europe/Berlin, America/New_York)", o.tz)
		}
		s, err := schedule.ParseDaily(o.at, loc)
		if err != nil {
			return fmt.Errorf("%w: --snapshot-at: %w", agent.ErrUsage, err)
		}
		o.sched = s
		return nil
	}
	s, err := schedule.ParseEvery(o.every)
	if err != nil {
		return fmt.Errorf("%w: --snapshot-every: %w", agent.ErrUsage, err)
	}
	if d, _ := time.ParseDuration(strings.TrimSpace(o.every)); d < minServeInterval && !o.shortIntervals {
		return usageError("--snapshot-every %s is shorter than %s: each snapshot starts a browser and reads the whole Team page", d, minServeInterval)
	}
	o.sched = s
	return nil
}

// validateServer checks the probe's interval, the listen address and the
// run's time limits.
func (o *serveOptions) validateServer() error {
	if o.probeEvery > 0 && o.probeEvery < minServeInterval && !o.shortIntervals {
		return usageError("--probe-every %s is shorter than %s", o.probeEvery, minServeInterval)
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usageError("--listen %q is not HOST:PORT: %v", o.listen, err)
	}
	if o.grace < 0 {
		return usageError("--grace-period must not be negative, got %s", o.grace)
	}
	if o.runTimeout < 0 {
		return usageError("--run-timeout must not be negative, got %s", o.runTimeout)
	}
	if o.probeEvery < 0 {
		return usageError("--probe-every must not be negative, got %s", o.probeEvery)
	}
	if o.probeEvery > 0 && !o.probe {
		return usageError("--probe-every needs the probe: leave out --probe=false")
	}
	return nil
}

// validateSources checks the snapshot's settings and, with --idp, the
// identity sources and --auto-apply.
func (o *serveOptions) validateSources() error {
	if err := o.snap.validate(o.getenv, o.auditKey); err != nil {
		return err
	}
	if len(o.idp.sources) > 0 {
		if err := o.idp.validate(o.getenv, orNop(o.log)); err != nil {
			return err
		}
	}
	if o.autoApply && len(o.idp.sources) == 0 {
		return usageError("--auto-apply needs --idp: the sources that say who is inactive")
	}
	if o.autoMax < 1 {
		return usageError("--auto-apply-max-removals must be at least 1")
	}
	return nil
}

// minServeInterval is the shortest --snapshot-every and --probe-every
// serve accepts: shorter ones run snapshots back to back.
const minServeInterval = time.Minute

// testShortIntervalsFlag is the hidden flag that lets tests schedule
// snapshots under minServeInterval apart.
const testShortIntervalsFlag = "test-short-intervals"

// serveRun checks what it can (a misconfigured server fails now rather
// than at the first run), then runs the scheduler and the HTTP server
// until ctx ends.
func serveRun(ctx context.Context, o *serveOptions) error {
	workspace, err := o.taker.check()
	if err != nil {
		return err
	}
	if err := checkWritableDir(o.snap.dir); err != nil {
		return err
	}
	sv, err := newSnapshotService(o, workspace)
	if err != nil {
		return err
	}
	ln, err := o.listenOn(o.listen)
	if err != nil {
		return usageError("--listen %s: %v", o.listen, err)
	}
	hs := &http.Server{
		Handler:           schedule.NewServeMux(sv.runner, sv.metrics),
		ReadHeaderTimeout: 10 * time.Second,
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()
	fmt.Fprintf(o.Out, "serving /healthz and /metrics on http://%s; snapshots of workspace %s into %s, %s\n",
		ln.Addr(), workspace, o.snap.dir, o.sched)

	err = sv.run(ctx, httpErr)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		sv.log.Warn("http shutdown", zap.Error(err))
	}
	if err == nil {
		sv.log.Info("stopped")
	}
	return err
}

// snapshotService is serve's scheduler and what its runs share: the
// metrics, the drift of the page's controls and the reconciler.
type snapshotService struct {
	o         *serveOptions
	log       *zap.Logger
	workspace string
	metrics   *schedule.Metrics
	drift     *schedule.Drift
	rec       *reconciler
	runner    *schedule.Runner
	// busy keeps a probe and a snapshot from running at once: one
	// browser at a time.
	busy sync.Mutex
}

// newSnapshotService registers the metrics and builds the reconciler (with
// --idp) and the scheduler.
func newSnapshotService(o *serveOptions, workspace string) (*snapshotService, error) {
	s := &snapshotService{o: o, log: orNop(o.log).Named("serve"), workspace: workspace}
	if err := s.registerMetrics(); err != nil {
		return nil, err
	}
	if len(o.idp.sources) > 0 {
		rec, err := newReconciler(o, s.metrics, s.log, workspace)
		if err != nil {
			return nil, err
		}
		s.rec = rec
	}
	s.runner = schedule.NewRunner(o.sched, s.job,
		schedule.WithDrift(s.drift),
		schedule.WithLogger(s.log),
		schedule.WithMetrics(s.metrics),
		schedule.WithClassifier(snapshotFailureReason),
		schedule.WithGracePeriod(o.grace),
		schedule.WithRunTimeout(o.runTimeout),
		schedule.WithRunOnStart(o.runOnStart),
	)
	return s, nil
}

// registerMetrics builds the metrics, with the Go and process collectors
// and the probe's.
func (s *snapshotService) registerMetrics() error {
	metrics, err := schedule.NewMetrics(nil)
	if err != nil {
		return err
	}
	reg := metrics.Registry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return fmt.Errorf("serve: register Go metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return fmt.Errorf("serve: register process metrics: %w", err)
	}
	drift, err := schedule.NewDrift(metrics)
	if err != nil {
		return fmt.Errorf("serve: register probe metrics: %w", err)
	}
	s.metrics, s.drift = metrics, drift
	return nil
}

// job is one scheduled run: the snapshot, its reconciliation with --idp,
// and the probe unless it runs on its own interval.
func (s *snapshotService) job(ctx context.Context) (*snapshot.Result, error) {
	s.busy.Lock()
	res, err := s.o.taker.take(ctx, &s.o.snap)
	if err == nil && s.rec != nil && res.Roster != nil {
		s.rec.run(ctx, res.Roster)
	}
	s.busy.Unlock()
	if err == nil && s.o.probe && s.o.probeEvery == 0 {
		s.probe(ctx)
	}
	return res, err
}

// probe probes the page's controls, never while a snapshot runs.
func (s *snapshotService) probe(ctx context.Context) {
	s.busy.Lock()
	defer s.busy.Unlock()
	s.probeForServe(ctx)
}

// probeLoop probes at once and then every --probe-every until ctx ends.
func (s *snapshotService) probeLoop(ctx context.Context) {
	t := time.NewTicker(s.o.probeEvery)
	defer t.Stop()
	for {
		s.probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// run runs the scheduler (and the probe on its own interval) until ctx
// ends or the HTTP server dies, which stops the scheduler as well.
func (s *snapshotService) run(ctx context.Context, httpErr <-chan error) error {
	runCtx, stopRunner := context.WithCancel(ctx)
	defer stopRunner()
	runErr := make(chan error, 1)
	go func() { runErr <- s.runner.Run(runCtx) }()
	if s.o.probe && s.o.probeEvery > 0 {
		go s.probeLoop(runCtx)
	}
	select {
	case err := <-runErr:
		return err
	case err := <-httpErr:
		serveErr := fmt.Errorf("serve: http: %w", err)
		stopRunner()
		if rerr := <-runErr; rerr != nil {
			serveErr = errors.Join(serveErr, rerr)
		}
		return serveErr
	}
}

// checkWritableDir creates dir if needed (mode 0700, as snapshot.Save
// does) and makes sure files can be created in it, so that a directory the
// server cannot write fails at start rather than at the first run.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, snapshot.DirMode); err != nil {
		return usageError("--dir %s: %v", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return usageError("--dir %s is not writable: %v", dir, err)
	}
	name := f.Name()
	cerr := f.Close()
	if err := errors.Join(cerr, os.Remove(name)); err != nil {
		return usageError("--dir %s: %v", dir, err)
	}
	return nil
}

// driftPayload is the webhook message of a page drift that began or ended.
type driftPayload struct {
	Text      string     `json:"text"`
	Workspace string     `json:"workspace"`
	Drift     driftState `json:"drift"`
}

type driftState struct {
	Began   []string          `json:"began"`
	Ended   []string          `json:"ended"`
	Failing []string          `json:"failing"`
	Details map[string]string `json:"details"`
}

// probeForServe probes the Team page's controls, records the result in
// the drift and, when a drift began or ended, logs it and posts it to the
// webhook. A probe that could not run (signed out, the browser gone)
// changes nothing: the snapshot reports those.
func (s *snapshotService) probeForServe(ctx context.Context) {
	p, err := s.o.probePage(ctx, len(s.drift.Failing()) == 0)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("probing the Team page's controls failed", zap.Error(err))
		}
		return
	}
	controls := map[string]bool{}
	details := map[string]string{}
	for _, c := range p.Checks {
		controls[string(c.Control)] = c.OK()
		if !c.OK() {
			details[string(c.Control)] = c.Detail
		}
	}
	began, ended := s.drift.Observe(s.o.now(), controls, details)
	if len(began) == 0 && len(ended) == 0 {
		return
	}
	parts := s.logDrift(began, ended)
	hook := s.o.snap.hook
	if hook == nil {
		return
	}
	msg := driftPayload{
		Text:      "Clay workspace " + textsafe.Terminal(s.workspace) + ": " + strings.Join(parts, "; ") + ".",
		Workspace: s.workspace,
		Drift:     driftState{Began: orNone(began), Ended: orNone(ended), Failing: orNone(s.drift.Failing()), Details: details},
	}
	if err := hook.Post(ctx, msg); err != nil {
		s.log.Warn("posting the page drift to the webhook failed", zap.Error(err))
	}
}

// logDrift logs a drift that began or ended and returns the webhook
// message's parts that say so.
func (s *snapshotService) logDrift(began, ended []string) []string {
	var parts []string
	if len(began) > 0 {
		s.log.Error("page drift began: controls the flows need are missing or ambiguous", zap.Strings("controls", began))
		parts = append(parts, "page drift began: "+strings.Join(labels(began), "; ")+" (run agent doctor: a flow that needs them would stop with exit 4)")
	}
	if len(ended) > 0 {
		s.log.Info("page drift ended: controls found again", zap.Strings("controls", ended))
		parts = append(parts, "page drift ended: "+strings.Join(labels(ended), "; ")+" found again")
	}
	return parts
}

// labels names probe controls in words, with their short names.
func labels(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = flows.ProbeControl(c).Label() + " (" + c + ")"
	}
	return out
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
