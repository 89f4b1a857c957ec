package flows

import (
	"context"
	"time"
)

// pollEvery is how often a flow looks at the page while waiting for it to
// react to a click.
const pollEvery = 40 * time.Millisecond

// poller is how poll looks.
type poller struct {
	interval time.Duration
}

// pollOption changes how poll looks.
type pollOption func(*poller)

// withInterval makes poll look every d instead of every pollEvery.
func withInterval(d time.Duration) pollOption {
	return func(p *poller) { p.interval = d }
}

// poll calls cond until it holds, fails, or timeout has passed, sleeping
// the interval (pollEvery unless withInterval) between two calls. cond is
// called at once, before any sleep, and the timeout is checked after each
// call, so a call at or after the timeout still counts. It reports whether
// cond held:
//
//   - cond's error ends the wait at once and is returned with cond's
//     answer;
//   - the timeout returns false and a nil error;
//   - ctx ending during a sleep returns false and ctx's error.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error), opts ...pollOption) (bool, error) {
	p := poller{interval: pollEvery}
	for _, o := range opts {
		o(&p)
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		if err := sleepCtx(ctx, p.interval); err != nil {
			return false, err
		}
	}
}

// sleepCtx waits d, or until ctx ends, which returns ctx's error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
