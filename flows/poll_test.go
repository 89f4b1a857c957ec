package flows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPoll(t *testing.T) {
	errCond := errors.New("the page could not be read")
	cancelled := func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	cases := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		timeout time.Duration
		opts    []pollOption
		// cond answers its nth call (from 1).
		cond    func(n int) (bool, error)
		wantOK  bool
		wantErr error
		// wantCalls is the exact number of calls; maxCalls, when set, an
		// upper bound instead.
		wantCalls, maxCalls int
	}{
		{
			name: "true at once", timeout: time.Second,
			cond:   func(int) (bool, error) { return true, nil },
			wantOK: true, wantCalls: 1,
		},
		{
			name: "true after three polls", timeout: time.Second, opts: []pollOption{withInterval(time.Millisecond)},
			cond:   func(n int) (bool, error) { return n == 3, nil },
			wantOK: true, wantCalls: 3,
		},
		{
			name: "an error stops at once", timeout: time.Second,
			cond:    func(int) (bool, error) { return false, errCond },
			wantErr: errCond, wantCalls: 1,
		},
		{
			name: "an error after two polls", timeout: time.Second, opts: []pollOption{withInterval(time.Millisecond)},
			cond: func(n int) (bool, error) {
				if n == 2 {
					return false, errCond
				}
				return false, nil
			},
			wantErr: errCond, wantCalls: 2,
		},
		{
			name: "a zero timeout still asks once", timeout: 0,
			cond:      func(int) (bool, error) { return false, nil },
			wantCalls: 1,
		},
		{
			name: "the timeout returns false and no error", timeout: 30 * time.Millisecond, opts: []pollOption{withInterval(5 * time.Millisecond)},
			cond:     func(int) (bool, error) { return false, nil },
			maxCalls: 30/5 + 2,
		},
		{
			name: "the interval is honoured", timeout: 150 * time.Millisecond, opts: []pollOption{withInterval(100 * time.Millisecond)},
			cond:     func(int) (bool, error) { return false, nil },
			maxCalls: 3,
		},
		{
			name: "a cancelled context returns its error", ctx: cancelled, timeout: time.Second,
			cond:    func(int) (bool, error) { return false, nil },
			wantErr: context.Canceled, wantCalls: 1,
		},
		{
			name: "a context deadline before the timeout returns its error",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			timeout: time.Minute, opts: []pollOption{withInterval(5 * time.Millisecond)},
			cond:    func(int) (bool, error) { return false, nil },
			wantErr: context.DeadlineExceeded, maxCalls: 20/5 + 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if c.ctx != nil {
				ctx, cancel = c.ctx()
			}
			defer cancel()
			calls := 0
			start := time.Now()
			ok, err := poll(ctx, c.timeout, func() (bool, error) {
				calls++
				return c.cond(calls)
			}, c.opts...)
			assert.Equal(t, c.wantOK, ok)
			if c.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, c.wantErr)
			}
			if c.maxCalls > 0 {
				assert.LessOrEqual(t, calls, c.maxCalls)
				assert.GreaterOrEqual(t, calls, 1)
			} else {
				assert.Equal(t, c.wantCalls, calls)
			}
			if c.wantErr == nil && !c.wantOK {
				assert.GreaterOrEqual(t, time.Since(start), c.timeout, "gave up before the timeout")
			}
		})
	}
}
