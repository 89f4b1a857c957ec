package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/flows"
)

// metricSeats counts the seats of each finding of the last
// reconciliation.
const metricSeats = "clay_agent_seats"

// autoApprover is the approver recorded on the records of --auto-apply.
const autoApprover = "serve --auto-apply"

// reconciler reconciles each scheduled snapshot with the identity sources,
// publishes the findings and, with --auto-apply, acts on them.
type reconciler struct {
	o         *serveOptions
	log       *zap.Logger
	workspace string
	seats     *prometheus.GaugeVec
	failures  prometheus.Counter
	// seen holds the findings of the last run that were not active,
	// keyed by finding and address, to post only what is new.
	seen map[string]bool
}

func newReconciler(o *serveOptions, m interface{ Registry() *prometheus.Registry }, log *zap.Logger, workspace string) (*reconciler, error) {
	r := &reconciler{o: o, log: log.Named("reconcile"), workspace: workspace,
		seats: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: metricSeats,
			Help: "Members and invitations of each finding of the last reconciliation with the identity sources.",
		}, []string{"finding"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clay_agent_reconcile_failures_total",
			Help: "Reconciliations that could not run: a source that could not be read whole, an auto-apply that failed.",
		}),
	}
	for _, c := range []prometheus.Collector{r.seats, r.failures} {
		if err := m.Registry().Register(c); err != nil {
			return nil, fmt.Errorf("serve: register reconcile metrics: %w", err)
		}
	}
	// the findings already reported survive a restart: only new ones are posted
	if data, err := os.ReadFile(r.seenPath()); err == nil {
		var keys []string
		if json.Unmarshal(data, &keys) == nil {
			r.seen = make(map[string]bool, len(keys))
			for _, k := range keys {
				r.seen[k] = true
			}
		}
	}
	return r, nil
}

// seenPath is where the findings already reported are kept, beside the
// snapshots.
func (r *reconciler) seenPath() string { return filepath.Join(r.o.snap.dir, "findings-reported.json") }

// saveSeen keeps the findings reported so far, atomically.
func (r *reconciler) saveSeen() {
	keys := make([]string, 0, len(r.seen))
	for k := range r.seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	data, _ := json.Marshal(keys)
	if err := fsutil.WriteFileAtomic(r.seenPath(), data, 0o600); err != nil {
		r.log.Warn("keeping the reported findings failed: a restart posts them again", zap.Error(err))
	}
}

// run reconciles ro. A source that cannot be read whole gives no findings
// this run: the metrics keep the last ones, and the failure is logged and
// counted.
func (r *reconciler) run(ctx context.Context, ro *roster.Roster) {
	dirs, err := r.o.idp.load(ctx)
	if err != nil {
		r.failures.Inc()
		r.log.Error("reading the identity sources failed: no findings this run", zap.Error(err))
		return
	}
	rep, err := r.o.idp.reconcile(ro, dirs)
	if err != nil {
		r.failures.Inc()
		r.log.Error("reconciliation failed", zap.Error(err))
		return
	}
	r.seats.Reset()
	for _, f := range idp.Findings {
		r.seats.WithLabelValues(string(f)).Set(float64(rep.Summary[f]))
	}
	now := map[string]bool{}
	var fresh []idp.Row
	for _, row := range rep.Findings {
		if row.Finding == idp.FindingActive || row.Finding == idp.FindingInvitationActive {
			continue
		}
		k := string(row.Finding) + "\x00" + roster.NormalizeEmail(row.Email) + "\x00" + row.Name
		now[k] = true
		if !r.seen[k] {
			fresh = append(fresh, row)
		}
	}
	r.seen = now
	r.saveSeen()
	r.log.Info("reconciled", zap.Any("summary", rep.Summary), zap.Int("new", len(fresh)))
	if len(fresh) > 0 && r.o.snap.hook != nil {
		if err := r.o.snap.hook.Post(ctx, findingsPayload(r.workspace, fresh, rep.Summary)); err != nil {
			r.log.Warn("posting the new findings to the webhook failed", zap.Error(err))
		}
	}
	if r.o.autoApply {
		if err := r.autoApply(ctx, ro, dirs, rep); err != nil {
			r.failures.Inc()
			r.log.Error("auto-apply failed", zap.Error(err))
		}
	}
}

// findingsMessage is the webhook message of new findings.
type findingsMessage struct {
	Text      string              `json:"text"`
	Workspace string              `json:"workspace"`
	Findings  findingsNew         `json:"findings"`
	Summary   map[idp.Finding]int `json:"summary"`
}

type findingsNew struct {
	New []idp.Row `json:"new"`
}

func findingsPayload(workspace string, rows []idp.Row, summary map[idp.Finding]int) findingsMessage {
	var parts []string
	for i, row := range rows {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("and %d more", len(rows)-20))
			break
		}
		who := textsafe.Terminal(row.Email)
		if who == "" {
			who = textsafe.Quote(row.Name)
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", row.Finding, who, textsafe.Terminal(string(row.Role))))
	}
	text := fmt.Sprintf("Clay workspace %s: %d new finding(s) against the identity provider: %s.", textsafe.Terminal(workspace), len(rows), strings.Join(parts, "; "))
	return findingsMessage{Text: snapshot.SlackEscape(text), Workspace: workspace, Findings: findingsNew{New: rows}, Summary: summary}
}

// autoApply offboards the inactive-in-idp seats (and revokes such
// invitations) through a plan file applied as agent apply does.
func (r *reconciler) autoApply(ctx context.Context, ro *roster.Roster, dirs []*idp.Directory, rep *idp.Report) error {
	p, _ := plan.Build(ro, dirs, rep, plan.BuildOptions{MaxRemovals: r.o.autoMax}, r.o.now())
	if len(p.Actions) == 0 {
		return nil
	}
	if len(p.Actions) > r.o.autoMax {
		return fmt.Errorf("%d seats to offboard, more than --auto-apply-max-removals %d: nothing was done; review them with agent plan", len(p.Actions), r.o.autoMax)
	}
	path, digest, err := r.writePlan(p)
	if err != nil {
		return err
	}
	r.log.Info("auto-apply: applying a plan", zap.String("plan", path), zap.String("digest", digest), zap.Int("actions", len(p.Actions)))
	ch := change{yes: true, output: "table", policy: flows.Policy{MaxRemovals: r.o.autoMax}, auditLog: r.o.snap.auditLog,
		auditKeyFile: r.o.snap.auditKeyFile, lockDir: r.o.snap.lockDir, lockTimeout: r.o.snap.lockTimeout}
	// a plan made just now: nothing of it was applied yet
	lp := &loadedPlan{p: p, digest: digest, approver: autoApprover, maxAge: plan.DefaultMaxAge, history: &plan.History{},
		ledger:    &plan.Ledger{Plan: digest, Workspace: p.Workspace},
		ledgerDir: filepath.Join(filepath.Dir(r.o.auditLogPath(ch.auditLog)), "plans")}
	return r.o.applyPlan(ctx, planApply{plan: lp, change: ch})
}

// writePlan writes p into --dir/plans and returns its path and digest.
func (r *reconciler) writePlan(p *plan.Plan) (string, string, error) {
	dir := filepath.Join(r.o.snap.dir, "plans")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	path := filepath.Join(dir, "auto-"+p.CreatedAt.Format("20060102T150405Z")+".json")
	digest, err := plan.Write(path, p)
	if err != nil {
		return "", "", err
	}
	return path, digest, nil
}
