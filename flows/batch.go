package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/core"
)

// Retry bounds the retries of one target after a transient failure.
type Retry struct {
	// Attempts is the most tries per target, the first included.
	Attempts uint64
	// Base is the first backoff; it doubles, with jitter.
	Base time.Duration
	// MaxDuration bounds all tries of one target.
	MaxDuration time.Duration
}

// DefaultRetry is three tries over at most a minute.
var DefaultRetry = Retry{Attempts: 3, Base: 300 * time.Millisecond, MaxDuration: time.Minute}

// Batch configures a mutating flow: its safety policy, dry run, retries,
// evidence and the callback that records each outcome as soon as it is
// known.
type Batch struct {
	Policy Policy
	// DryRun reads the page and reports what would happen; it clicks
	// nothing.
	DryRun bool
	Retry  Retry
	// Evidence, when set, keeps a screenshot before ("before") and after
	// ("after") each destructive click and returns its path.
	Evidence func(ctx context.Context, target, when string) (string, error)
	// OnStart is called before the first click on a target, and must
	// durably record that the click is about to happen. When it returns an
	// error nothing is clicked: the target fails with an error wrapping
	// ErrNotRecorded, and the batch stops.
	OnStart func(target string) error
	// OnResult is called with each target's outcome as soon as it is
	// known, before the next target starts.
	OnResult func(Result)
}

func (b Batch) retry() Retry {
	r := b.Retry
	if r.Attempts == 0 {
		r.Attempts = DefaultRetry.Attempts
	}
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.MaxDuration <= 0 {
		r.MaxDuration = DefaultRetry.MaxDuration
	}
	return r
}

func (b Batch) report(r Result) Result {
	if b.OnResult != nil {
		b.OnResult(r)
	}
	return r
}

// ErrNotRecorded means the record that an action was about to happen
// could not be written, so the action was not taken. It ends a batch: no
// target is acted on without its record.
var ErrNotRecorded = core.ErrNotRecorded

// start records that the first click on target is about to happen.
func (b Batch) start(target string) error {
	if b.OnStart == nil {
		return nil
	}
	if err := b.OnStart(target); err != nil {
		return fmt.Errorf("%w: nothing was clicked for %s: %w", ErrNotRecorded, target, err)
	}
	return nil
}

func (b Batch) evidence(ctx context.Context, res *Result, target, when string) {
	if b.Evidence == nil {
		return
	}
	p, err := b.Evidence(ctx, target, when)
	if err != nil {
		res.Detail = appendDetail(res.Detail, "screenshot "+when+" failed: "+err.Error())
		return
	}
	res.Evidence = append(res.Evidence, p)
}

func appendDetail(d, more string) string {
	if d == "" {
		return more
	}
	return d + "; " + more
}

// readOnly returns err wrapping agent.ErrReadOnly and agent.ErrUsage when
// the browser has seen more read-only refusals than before (the server, a
// replayed recording, refused the change): the error the page showed is
// that refusal, and no retry can help.
func (t *Team) readOnly(err error, before int) error {
	n, last := t.b.ReadOnlyRefusals()
	if n <= before {
		return err
	}
	return fmt.Errorf("%w: %w: the server refused %s and changed nothing: %w", agent.ErrUsage, agent.ErrReadOnly, last, err)
}

// withRetry runs attempt until it succeeds, fails for good, or the retry
// budget is spent. Only errors wrapping agent.ErrTransient are retried, and
// before each retry the Team page is loaded again so that the next attempt
// starts from a fresh read of the state.
func (t *Team) withRetry(ctx context.Context, b Batch, what string, attempt func(ctx context.Context, n int) error) error {
	r := b.retry()
	backoff := retry.NewExponential(r.Base)
	backoff = retry.WithJitterPercent(20, backoff)
	backoff = retry.WithMaxRetries(r.Attempts-1, backoff)
	backoff = retry.WithMaxDuration(r.MaxDuration, backoff)
	n := 0
	var last error
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		n++
		if n > 1 {
			t.b.Logger().Info("retrying " + what + " from a fresh read of the page")
			if err := t.Reload(ctx); err != nil {
				if errors.Is(err, agent.ErrLoginRequired) || errors.Is(err, agent.ErrBrowserGone) {
					return err
				}
				last = err
				return retry.RetryableError(fmt.Errorf("%w: %w", agent.ErrTransient, err))
			}
		}
		refusals, _ := t.b.ReadOnlyRefusals()
		err := attempt(ctx, n)
		if err != nil {
			err = t.readOnly(err, refusals)
		}
		last = err
		if err != nil && errors.Is(err, agent.ErrTransient) && !fatal(err) && !errors.Is(err, agent.ErrReadOnly) {
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %w", errCancelled, ctx.Err())
	}
	if err != nil && errors.Is(err, agent.ErrTransient) && n > 1 {
		return fmt.Errorf("%w (after %d tries)", last, n)
	}
	return err
}

// startOnce returns the function that, before the first click on a
// target, records its start and a "before" screenshot. A start that
// cannot be recorded is an error: nothing is clicked.
func startOnce(ctx context.Context, b Batch, res *Result, email string) func() error {
	return func() error {
		if !res.Clicked {
			if err := b.start(email); err != nil {
				return err
			}
			b.evidence(ctx, res, email, "before")
		}
		res.Clicked = true
		return nil
	}
}
