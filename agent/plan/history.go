package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// OutcomeRevoked is the outcome of a revoked invitation (flows'
// RevokedInvitation), as the audit log records it.
const OutcomeRevoked = "revoked-invitation"

// Outcomes of an apply that complete an action: the target is gone, by
// this apply or before it.
var doneOutcomes = []string{audit.OutcomeRemoved, OutcomeRevoked, audit.OutcomeAlreadyAbsent}

// IsDoneOutcome reports whether an apply's outcome for a target completes
// the target's action.
func IsDoneOutcome(outcome string) bool { return slices.Contains(doneOutcomes, outcome) }

// Done is what an apply of a plan did to one target.
type Done struct {
	Email string `json:"email"`
	// Outcome is the apply's outcome: removed, revoked-invitation or
	// already-absent.
	Outcome string    `json:"outcome"`
	At      time.Time `json:"at"`
}

// ApprovalRecord is an "approved" record of a plan in the audit log.
type ApprovalRecord struct {
	By        string
	At        time.Time
	Workspace string
	// Keyed is set when the record carried a MAC that was checked with
	// the log's key: nobody without the key could have written it.
	Keyed bool
}

// History is what is known of one plan's applies and approvals: from the
// audit log (ReadHistory) and from the ledger kept in the state directory
// (ReadLedger, merged with Merge).
type History struct {
	// Done maps a target's normalized address to what an apply did to it.
	Done map[string]Done
	// Approvals are the plan's "approved" records, oldest first.
	Approvals []ApprovalRecord
}

// ReadHistory reads the audit log at path for the records of the plan
// whose digest is digest. The log must verify, its MACs checked with key
// when key is not nil: a log that does not is an error wrapping
// core.ErrRefused and audit.ErrTampered, since then nobody can tell
// whether the plan was applied. A missing log is an empty history.
func ReadHistory(path string, key []byte, digest string) (*History, error) {
	h := &History{Done: map[string]Done{}}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	visit := func(rec audit.Record, keyed bool) {
		if rec.Plan != digest {
			return
		}
		switch {
		case rec.Outcome == audit.OutcomeApproved:
			h.Approvals = append(h.Approvals, ApprovalRecord{By: rec.ApprovedBy, At: rec.Time, Workspace: rec.Workspace, Keyed: keyed})
		case IsDoneOutcome(rec.Outcome) && rec.Target != "":
			h.note(Done{Email: rec.Target, Outcome: rec.Outcome, At: rec.Time})
		}
	}
	opts := []audit.VerifyOption{audit.VerifyVisit(visit)}
	if key != nil {
		opts = append(opts, audit.VerifyKey(key))
	}
	if _, err := audit.VerifyChainFile(path, opts...); err != nil {
		return nil, fmt.Errorf("%w: whether plan %s was applied cannot be told: %w", core.ErrRefused, ShortDigest(digest), err)
	}
	return h, nil
}

func (h *History) note(d Done) {
	if h.Done == nil {
		h.Done = map[string]Done{}
	}
	k := roster.NormalizeEmail(d.Email)
	if old, ok := h.Done[k]; !ok || d.At.Before(old.At) {
		h.Done[k] = d
	}
}

// Merge adds the targets of l, a ledger of the same plan, to h.
func (h *History) Merge(l *Ledger) {
	for _, d := range l.Done {
		h.note(d)
	}
}

// KeyedApproval returns the latest approval of the plan for workspace
// that carried a checked MAC, or ErrNotApproved.
func (h *History) KeyedApproval(workspace string, now time.Time) (*ApprovalRecord, error) {
	for i := len(h.Approvals) - 1; i >= 0; i-- {
		a := h.Approvals[i]
		if !a.Keyed || a.Workspace != workspace || a.At.After(now.Add(MaxClockSkew)) {
			continue
		}
		return &a, nil
	}
	if len(h.Approvals) > 0 {
		return nil, fmt.Errorf("%w: its approval in the audit log carries no MAC checked with the audit key (approve it again with --audit-key-file)", ErrNotApproved)
	}
	return nil, fmt.Errorf("%w: the audit log holds no approval of it (run agent approve with the audit key)", ErrNotApproved)
}

// Ledger is the state directory's record of one plan's applies: the
// targets they completed. It is written after each target, so that a
// later apply never acts on a seat twice even when the audit log is moved.
type Ledger struct {
	Plan      string    `json:"plan_digest"`
	Workspace string    `json:"workspace"`
	Updated   time.Time `json:"updated_at"`
	Done      []Done    `json:"done"`
}

// LedgerPath is where the ledger of the plan with digest lives in dir.
func LedgerPath(dir, digest string) string { return filepath.Join(dir, digest+".json") }

// ReadLedger reads the ledger of the plan with digest from dir; none is
// an empty ledger.
func ReadLedger(dir, digest string) (*Ledger, error) {
	data, err := os.ReadFile(LedgerPath(dir, digest))
	if errors.Is(err, os.ErrNotExist) {
		return &Ledger{Plan: digest}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plan: read the ledger: %w", err)
	}
	var l Ledger
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil || l.Plan != digest {
		return nil, fmt.Errorf("%w: %s is not the ledger of plan %s: whether the plan was applied cannot be told", core.ErrRefused, LedgerPath(dir, digest), ShortDigest(digest))
	}
	return &l, nil
}

// Note adds d to the ledger and writes it to dir atomically (mode 0600).
func (l *Ledger) Note(dir string, d Done) error {
	l.Done = append(l.Done, d)
	if d.At.After(l.Updated) {
		l.Updated = d.At
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("plan: ledger: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("plan: ledger: %w", err)
	}
	if err := fsutil.WriteFileAtomic(LedgerPath(dir, l.Plan), append(data, '\n'), FileMode); err != nil {
		return fmt.Errorf("plan: ledger: %w", err)
	}
	return nil
}
