package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/webhook"
)

// Lister reads the current roster of a workspace.
type Lister func(ctx context.Context) (*roster.Roster, error)

// Result is the outcome of Take or DiffFiles. Its JSON form is the
// `snapshot -o json` output: {"snapshot", "previous", "changes"}, and
// "audit" when an audit head was given to Take.
type Result struct {
	// Snapshot is the path of the snapshot just written (Take) or of the
	// newer file (DiffFiles).
	Snapshot string `json:"snapshot"`
	// Previous is the path of the snapshot compared against; "" when there
	// was none and everything counts as added.
	Previous string `json:"previous"`
	// Changes from Previous to Snapshot.
	Changes Changes `json:"changes"`
	// Audit is the audit log's head given with WithAuditHead, or nil.
	Audit *AuditHead `json:"audit,omitempty"`

	// Workspace is the name of the workspace.
	Workspace string `json:"-"`
	// Roster is the roster saved in Snapshot.
	Roster *roster.Roster `json:"-"`
	// Pruned lists the snapshots removed by WithKeep.
	Pruned []string `json:"-"`
	// PruneErr is why pruning failed, if it did. The snapshot is kept.
	PruneErr error `json:"-"`
	// Notified is true when the webhook accepted the changes.
	Notified bool `json:"-"`
	// WebhookErr is why the webhook failed, if it did. The snapshot is
	// kept.
	WebhookErr error `json:"-"`
}

// Payload is the JSON body posted to the webhook. Text makes it a valid
// Slack incoming-webhook message.
type Payload struct {
	Text      string     `json:"text"`
	Workspace string     `json:"workspace"`
	Snapshot  string     `json:"snapshot"`
	Previous  string     `json:"previous"`
	Changes   Changes    `json:"changes"`
	Audit     *AuditHead `json:"audit,omitempty"`
}

// Payload returns the webhook body describing r. With an audit head, Text
// ends with a line that gives it.
func (r *Result) Payload() Payload {
	text := r.Changes.SlackText(r.Workspace)
	if r.Audit != nil {
		text += "\n" + SlackEscape(r.Audit.Text())
	}
	return Payload{
		Text:      text,
		Workspace: r.Workspace,
		Snapshot:  r.Snapshot,
		Previous:  r.Previous,
		Changes:   r.Changes,
		Audit:     r.Audit,
	}
}

// Text is the human summary of r, as printed on a terminal.
func (r *Result) Text() string {
	return r.Changes.Text(r.Workspace)
}

// Option configures Take.
type Option func(*takeConfig)

type takeConfig struct {
	keep    int
	webhook *webhook.Client
	now     func() time.Time
	audit   *AuditHead
}

// WithKeep prunes the workspace's snapshots to the newest n after a
// successful save. n < 1 keeps everything.
func WithKeep(n int) Option {
	return func(c *takeConfig) { c.keep = n }
}

// WithWebhook posts the changes to c when there are any and a previous
// snapshot existed (the first snapshot of a workspace is a baseline, not a
// change). A nil c posts nothing.
func WithWebhook(c *webhook.Client) Option {
	return func(cfg *takeConfig) { cfg.webhook = c }
}

// WithAuditHead publishes h, the audit log's head, with the snapshot: in
// Result.Audit and in the webhook's payload. A nil h publishes nothing.
func WithAuditHead(h *AuditHead) Option {
	return func(c *takeConfig) { c.audit = h }
}

// WithClock sets the time recorded as the capture time when the lister
// leaves it zero. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *takeConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// Take lists the roster, saves it as a new snapshot in dir, and diffs it
// against the newest earlier snapshot of the same workspace. Then it posts
// the changes to the webhook and prunes old snapshots, if configured; those
// two steps never lose the snapshot, and their failures are reported in
// Result.WebhookErr and Result.PruneErr rather than as Take's error.
//
// If listing or saving fails, Take returns a nil Result. If the snapshot
// was saved but the earlier ones cannot be read, Take returns the Result
// (with Snapshot set) together with the error.
func Take(ctx context.Context, list Lister, dir string, opts ...Option) (*Result, error) {
	cfg := takeConfig{now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	cur, err := list(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: list: %w", err)
	}
	if cur == nil {
		return nil, errors.New("snapshot: list: no roster")
	}
	if cur.CapturedAt.IsZero() {
		c := *cur
		c.CapturedAt = cfg.now().UTC()
		cur = &c
	}
	path, err := Save(dir, cur)
	if err != nil {
		return nil, err
	}
	res := &Result{Snapshot: path, Workspace: cur.Workspace, Roster: cur, Audit: cfg.audit}

	prevPath, prev, err := Latest(dir, cur.Workspace, path)
	switch {
	case errors.Is(err, ErrNoSnapshot):
	case err != nil:
		res.Changes = Diff(nil, cur)
		return res, fmt.Errorf("snapshot: saved %s, but reading earlier snapshots failed: %w", path, err)
	default:
		res.Previous = prevPath
	}
	res.Changes = Diff(prev, cur)

	if cfg.webhook != nil && res.Previous != "" && !res.Changes.Empty() {
		if err := cfg.webhook.Post(ctx, res.Payload()); err != nil {
			res.WebhookErr = err
		} else {
			res.Notified = true
		}
	}
	if cfg.keep > 0 {
		res.Pruned, res.PruneErr = Prune(dir, cur.Workspace, cfg.keep)
	}
	return res, nil
}

// DiffFiles loads two snapshot files and diffs the older (prev) against
// the newer (cur). It is `agent diff A B`.
func DiffFiles(prevPath, curPath string) (*Result, error) {
	prev, err := Load(prevPath)
	if err != nil {
		return nil, err
	}
	cur, err := Load(curPath)
	if err != nil {
		return nil, err
	}
	return &Result{
		Snapshot:  curPath,
		Previous:  prevPath,
		Changes:   Diff(prev, cur),
		Workspace: cur.Workspace,
		Roster:    cur,
	}, nil
}
