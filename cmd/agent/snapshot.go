package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/agent/webhook"
)

// defaultSnapshotLockTimeout is how long a snapshot waits for another run
// on the same workspace (a mutation, another snapshot) to release the
// workspace lock.
const defaultSnapshotLockTimeout = 2 * time.Minute

// snapshotSettings are the flags `snapshot` and `serve` share.
type snapshotSettings struct {
	dir         string
	keep        int
	webhookURL  string
	lockDir     string
	lockTimeout time.Duration
	auditLog    string
	// auditKeyFile names the audit key: the head is then published only
	// when every record's MAC verifies (and --auto-apply signs with it).
	auditKeyFile string

	// hook is the webhook client built by validate; nil without a URL.
	hook *webhook.Client
}

func (o *snapshotSettings) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.dir, "dir", "", "the directory holding the snapshots (created with mode 0700 if missing)")
	fs.IntVar(&o.keep, "keep", 0, "keep only the newest N snapshots of the workspace in --dir (0: keep all)")
	fs.StringVar(&o.webhookURL, "webhook", "", "post the changes as JSON to this URL when anything changed (env "+webhook.EnvURL+")")
	fs.StringVar(&o.lockDir, "lock-dir", "", "where the per-workspace lock files go (default under the user's state directory)")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", defaultSnapshotLockTimeout, "how long to wait for another run against the same workspace")
	fs.StringVar(&o.auditLog, "audit-log", "", "the audit log whose head is published with each snapshot (env "+envAuditLog+"; default under the user's state directory)")
	fs.StringVar(&o.auditKeyFile, "audit-key-file", "", "verify the audit log's MACs with the key in this file before publishing its head (env "+envAuditKeyFile+")")
}

// validate checks the flags and builds the webhook client. It reads the
// environment (getenv) and the audit key file (auditKey) but touches
// neither the snapshots nor the network.
func (o *snapshotSettings) validate(getenv func(string) string, auditKey auditKeyReader) error {
	if strings.TrimSpace(o.dir) == "" {
		return usageError("--dir is required: the directory that holds the snapshots")
	}
	if o.keep < 0 {
		return usageError("--keep must be 0 (keep all) or more, got %d", o.keep)
	}
	if o.lockTimeout < 0 {
		return usageError("--lock-timeout must not be negative, got %s", o.lockTimeout)
	}
	if o.webhookURL == "" {
		o.webhookURL = getenv(webhook.EnvURL)
	}
	if _, err := auditKey("--audit-key-file", o.auditKeyFile); err != nil {
		return err
	}
	o.hook = nil
	if o.webhookURL != "" {
		c, err := webhook.New(o.webhookURL)
		if err != nil {
			return fmt.Errorf("%w: --webhook (or %s): %w", agent.ErrUsage, webhook.EnvURL, err)
		}
		o.hook = c
	}
	return nil
}

// lock takes the workspace's lock file under --lock-dir, waiting at most
// --lock-timeout, and returns its release.
func (o *snapshotSettings) lock(ctx context.Context, workspace string) (func(), error) {
	dir := o.lockDir
	if dir == "" {
		dir = lock.DefaultDir()
	}
	lk, err := lock.Acquire(ctx, lock.PathFor(dir, workspace), o.lockTimeout)
	if err != nil {
		return nil, fmt.Errorf("waiting for the workspace lock: %w", err)
	}
	return func() { _ = lk.Release() }, nil
}

// snapshotTaker takes one snapshot through the dependencies it holds: the
// configuration and session check, the Team page, the audit log's head
// and the clock.
type snapshotTaker struct {
	check     sessionCheck
	open      readOpener
	auditHead func(logFlag, keyFlag string) *snapshot.AuditHead
	now       func() time.Time
}

// newSnapshotTaker is the app's taker.
func (a *app) newSnapshotTaker() snapshotTaker {
	return snapshotTaker{check: a.checkSession, open: a.openReadSession, auditHead: a.auditHead, now: a.clock}
}

// take checks the configuration and the session file, takes the
// workspace lock, lists the Team page in a fresh browser and saves the
// snapshot. The browser is closed as soon as the page is listed, or,
// when listing fails, after the page's artifacts are kept.
func (t snapshotTaker) take(ctx context.Context, o *snapshotSettings) (*snapshot.Result, error) {
	workspace, err := t.check()
	if err != nil {
		return nil, err
	}
	release, err := o.lock(ctx, workspace)
	if err != nil {
		return nil, err
	}
	defer release()
	head := t.auditHead(o.auditLog, o.auditKeyFile)

	page, err := t.open(ctx)
	if err != nil {
		return nil, err
	}
	defer page.Close()
	var listErr error
	list := func(ctx context.Context) (*roster.Roster, error) {
		r, err := page.List(ctx)
		if listErr = err; err == nil {
			// Done with the page: no browser while the file is written
			// and the webhook is called. On failure it stays open for
			// the artifacts.
			page.Close()
		}
		return r, err
	}
	res, err := snapshot.Take(ctx, list, o.dir,
		snapshot.WithKeep(o.keep),
		snapshot.WithWebhook(o.hook),
		snapshot.WithClock(t.now),
		snapshot.WithAuditHead(head),
	)
	if listErr != nil {
		return nil, page.Fail("snapshot", err)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// snapshotOptions are the settings and dependencies of `agent snapshot`.
type snapshotOptions struct {
	streams
	settings snapshotSettings
	output   string

	getenv   func(string) string
	auditKey auditKeyReader
	taker    snapshotTaker
}

// snapshotLong is snapshot's help.
const snapshotLong = `snapshot lists the workspace's members and pending invitations and writes them to
a new file <dir>/<workspace>-<UTC time>.json (mode 0600). The file is written
atomically and never overwrites another one. It then compares the snapshot with
the newest earlier snapshot of the workspace in the same directory and reports
members added, removed, renamed or given another role, and invitations sent or
gone. Emails are compared without regard to case.

--keep N removes all but the newest N snapshots of the workspace afterwards.
It also publishes the head of the audit log (--audit-log, CLAY_AUDIT_LOG, or
the default path), the chain hash of its last line and its record count, in
its output and in the webhook's payload, for agent audit verify --head later.
A missing log publishes nothing; a log that cannot be read or does not verify
is a warning, not a failure of the snapshot.
--webhook (or CLAY_WEBHOOK) posts the changes as JSON, with a Slack-compatible
"text" field, when anything changed since an earlier snapshot; failed posts are
retried with backoff. The snapshot is written before the webhook is called: if
the webhook or the pruning fails, the snapshot stays, the failure is reported
on stderr and the exit code is 1.

The run takes the workspace's lock, so it waits for a running mutation or
another snapshot of the same workspace (at most --lock-timeout).`

// snapshotExample is snapshot's examples.
const snapshotExample = `  agent snapshot --dir ./snapshots --workspace 1234 --session ./session.json
  agent snapshot --dir /snapshots --keep 90 -o json
  CLAY_WEBHOOK=https://hooks.slack.com/services/T000/B000/XXXX agent snapshot --dir ./snapshots`

// newSnapshotCmd builds `agent snapshot`; runF, when not nil, runs
// instead of snapshotRun.
func newSnapshotCmd(a *app, runF func(context.Context, *snapshotOptions) error) *cobra.Command {
	o := &snapshotOptions{streams: a.streams(), getenv: a.envValue, auditKey: a.readAuditKey, taker: a.newSnapshotTaker()}
	cmd := &cobra.Command{
		Use:     "snapshot",
		Short:   "Save the members and invitations to a new file and report what changed",
		Long:    snapshotLong,
		Example: snapshotExample,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return o.validate() },
		RunE:    dispatchRun(o, runF, snapshotRun),
	}
	o.settings.register(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// validate checks the flags before anything starts (exit 2).
func (o *snapshotOptions) validate() error {
	if err := checkFormat(o.output, "text", "json"); err != nil {
		return err
	}
	return o.settings.validate(o.getenv, o.auditKey)
}

// snapshotRun takes the snapshot, prints it and its warnings, and turns
// a failed webhook or pruning into exit 1.
func snapshotRun(ctx context.Context, o *snapshotOptions) error {
	res, err := o.taker.take(ctx, &o.settings)
	if err != nil {
		return err
	}
	writeSnapshotWarnings(o.ErrOut, res)
	if o.output == "json" {
		if err := writeJSON(o.Out, res); err != nil {
			return err
		}
	} else if err := writeSnapshotText(o.Out, res, o.settings.hook); err != nil {
		return err
	}
	return snapshotAftermath(res)
}

// writeSnapshotWarnings says on w what the snapshot holds that a person
// should look at: the rows without a readable email and an audit head that
// could not be published.
func writeSnapshotWarnings(w io.Writer, res *snapshot.Result) {
	if res.Roster != nil {
		// recorded in the snapshot and in its changes; said here too
		for _, u := range res.Roster.Unreadable {
			fmt.Fprintf(w, "agent: warning: a %s row with controls but no readable email, kept in the snapshot: %s\n", u.Kind, textsafe.Quote(collapseSpace(u.Text)))
		}
	}
	if res.Audit != nil && res.Audit.Error != "" {
		fmt.Fprintf(w, "agent: warning: no audit head published: %s\n", res.Audit.Error)
	}
}

// auditHead verifies the hash chain of the audit log named by the flag's
// value (else CLAY_AUDIT_LOG, else the default path), and with a key every
// record's MAC too, and returns its head
// to publish with a snapshot. It returns nil, and says so in a debug log,
// when the log does not exist; a log that cannot be read or does not
// verify gives a head with Error set.
func (a *app) auditHead(flagValue, keyFlag string) *snapshot.AuditHead {
	p := a.auditLogPath(flagValue)
	var opts []audit.VerifyOption
	key, err := a.readAuditKey("--audit-key-file", keyFlag)
	if err != nil {
		return &snapshot.AuditHead{Log: p, Error: err.Error()}
	}
	if key != nil {
		opts = append(opts, audit.VerifyKey(key))
	}
	sum, err := audit.VerifyChainFile(p, opts...)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		a.log.Debug("no audit log: no audit head to publish", zap.String("audit_log", p))
		return nil
	case err != nil:
		return &snapshot.AuditHead{Log: p, Error: err.Error()}
	}
	return &snapshot.AuditHead{Log: p, Head: sum.Head, Records: sum.Lines}
}

// snapshotAftermath turns a failed webhook or a failed pruning, which
// leave the snapshot in place, into exit code 1 with one line on stderr.
func snapshotAftermath(res *snapshot.Result) error {
	var msgs []string
	if res.WebhookErr != nil {
		msgs = append(msgs, fmt.Sprintf("the snapshot %s was saved, but posting the changes failed: %v", res.Snapshot, res.WebhookErr))
	}
	if res.PruneErr != nil {
		msgs = append(msgs, fmt.Sprintf("the snapshot %s was saved, but removing old snapshots failed: %v", res.Snapshot, res.PruneErr))
	}
	if len(msgs) == 0 {
		return nil
	}
	return &exitError{code: exitFailed, msg: strings.Join(msgs, "; ")}
}

// writeSnapshotText prints the human summary of a snapshot just taken.
func writeSnapshotText(w io.Writer, res *snapshot.Result, hook *webhook.Client) error {
	r := res.Roster
	if r == nil {
		r = &roster.Roster{}
	}
	fmt.Fprintf(w, "saved     %s (%s)\n", res.Snapshot, countMembers(r))
	if res.Previous == "" {
		fmt.Fprintln(w, "previous  none: this is the first snapshot of the workspace here, the baseline for later ones")
	} else {
		fmt.Fprintf(w, "previous  %s\n", res.Previous)
		if err := writeChanges(w, res.Changes); err != nil {
			return err
		}
	}
	if len(res.Pruned) > 0 {
		fmt.Fprintf(w, "removed %d older snapshot(s) (--keep)\n", len(res.Pruned))
	}
	switch h := res.Audit; {
	case h == nil:
	case h.Error != "":
		fmt.Fprintf(w, "audit     not verified, no head published: %s\n", h.Error)
	default:
		fmt.Fprintf(w, "audit     %d records, head %s (%s)\n", h.Records, h.Head, h.Log)
	}
	if res.Notified && hook != nil {
		fmt.Fprintf(w, "posted the changes to %s\n", hook)
	}
	return nil
}

// countMembers says how many members and invitations a roster holds.
func countMembers(r *roster.Roster) string {
	s := fmt.Sprintf("%d members, %d pending invitations", len(r.Members), len(r.Invitations))
	if n := len(r.Unreadable); n > 0 {
		s += fmt.Sprintf(", %d rows with no readable email", n)
	}
	return s
}

// writeChanges prints one line per change, or "no changes". Emails, roles
// and names are escaped by textsafe.
func writeChanges(w io.Writer, c snapshot.Changes) error {
	if c.Empty() {
		_, err := fmt.Fprintln(w, "no changes")
		return err
	}
	if n := c.Count(); n == 1 {
		fmt.Fprintln(w, "1 change:")
	} else {
		fmt.Fprintf(w, "%d changes:\n", n)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(kind, email, detail string) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kind, textsafe.Terminal(email), detail)
	}
	for _, m := range c.Added {
		line("added", m.Email, memberDetail(m))
	}
	for _, m := range c.Removed {
		line("removed", m.Email, memberDetail(m))
	}
	for _, r := range c.RoleChanged {
		line("role changed", r.Email, fmt.Sprintf("%s → %s", textsafe.Terminal(string(r.From)), textsafe.Terminal(string(r.To))))
	}
	for _, r := range c.Renamed {
		line("renamed", r.Email, fmt.Sprintf("%s → %s", textsafe.Quote(collapseSpace(r.From)), textsafe.Quote(collapseSpace(r.To))))
	}
	for _, i := range c.Invited {
		line("invited", i.Email, textsafe.Terminal(string(i.Role)))
	}
	for _, i := range c.InvitationGone {
		line("invitation gone", i.Email, textsafe.Terminal(string(i.Role)))
	}
	for _, u := range c.Unreadable {
		line("unreadable "+u.Kind, "", textsafe.Quote(collapseSpace(u.Text)))
	}
	return tw.Flush()
}

// memberDetail is a member's role and quoted name, escaped by textsafe.
func memberDetail(m roster.Member) string {
	role := textsafe.Terminal(string(m.Role))
	if name := collapseSpace(m.Name); name != "" {
		return role + ", " + textsafe.Quote(name)
	}
	return role
}

// snapshotFailureReason names a failed snapshot for /healthz and the
// failures metric.
func snapshotFailureReason(err error) string {
	switch {
	case errors.Is(err, agent.ErrLoginRequired):
		return "login required"
	case errors.Is(err, agent.ErrPageChanged):
		return "page changed"
	case errors.Is(err, agent.ErrUsage):
		return "bad input"
	case errors.Is(err, agent.ErrBrowserGone):
		return "browser gone"
	case errors.Is(err, agent.ErrStepTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}
