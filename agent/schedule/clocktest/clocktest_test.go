package clocktest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/agent/schedule/clocktest"
)

var _ schedule.Clock = (*clocktest.Clock)(nil)

var start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func ready(ch <-chan time.Time) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestAfterFiresOnlyWhenAdvancedFarEnough(t *testing.T) {
	c := clocktest.New(start)
	short := c.After(time.Minute)
	long := c.After(time.Hour)
	now := c.After(0)

	assert.True(t, ready(now), "a zero wait is ready at once")
	assert.Equal(t, 2, c.Waiters())
	assert.False(t, ready(short))

	c.Advance(59 * time.Second)
	assert.False(t, ready(short))
	c.Advance(time.Second)
	assert.True(t, ready(short))
	assert.False(t, ready(long))
	assert.Equal(t, 1, c.Waiters())

	c.Set(start.Add(2 * time.Hour))
	select {
	case got := <-long:
		assert.Equal(t, start.Add(2*time.Hour), got)
	default:
		t.Fatal("the long wait did not fire")
	}
	assert.Equal(t, 0, c.Waiters())
	assert.Equal(t, start.Add(2*time.Hour), c.Now())
}

func TestBlockUntilWaiters(t *testing.T) {
	c := clocktest.New(start)
	go func() {
		time.Sleep(time.Millisecond)
		<-c.After(time.Second)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.BlockUntilWaiters(ctx, 1))
	assert.Equal(t, 1, c.Waiters())

	short, cancelShort := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancelShort()
	assert.ErrorIs(t, c.BlockUntilWaiters(short, 2), context.DeadlineExceeded)
}
