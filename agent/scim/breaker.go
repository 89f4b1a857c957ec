package scim

import (
	"fmt"
	"sync"
	"time"
)

// breakerWindow is the breaker's sliding window.
const breakerWindow = time.Hour

// breaker stops deprovisioning after too many removals: once max
// removals happened within the last hour, the next one is refused, and
// every one after it, until the oldest of them leaves the window.
type breaker struct {
	mu      sync.Mutex
	max     int
	times   []time.Time // removals in the window, oldest first
	tripped bool
}

func newBreaker(max int, times []time.Time) *breaker {
	return &breaker{max: max, times: times}
}

// prune drops the removals that left the window. Callers hold b.mu.
func (b *breaker) prune(now time.Time) {
	i := 0
	for i < len(b.times) && now.Sub(b.times[i]) >= breakerWindow {
		i++
	}
	b.times = b.times[i:]
	if len(b.times) < b.max {
		b.tripped = false
	}
}

// reason is the detail of a refusal.
func (b *breaker) reason() string {
	return fmt.Sprintf("deprovisioning paused: more than %d removals in the last hour", b.max)
}

// allow reports whether a removal may go ahead now. When it may not, it
// returns the reason, how long until one may, and whether this refusal
// opened the breaker (the caller then reports the trip, once).
func (b *breaker) allow(now time.Time) (ok bool, reason string, retry time.Duration, trip bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(now)
	if len(b.times) < b.max {
		return true, "", 0, false
	}
	trip = !b.tripped
	b.tripped = true
	retry = b.times[len(b.times)-b.max].Add(breakerWindow).Sub(now)
	return false, b.reason(), max(retry, time.Second), trip
}

// add records a removal at t.
func (b *breaker) add(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.times = append(b.times, t)
}

// open reports whether the breaker refuses removals now, and how many
// removals the window holds.
func (b *breaker) open(now time.Time) (bool, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(now)
	return b.tripped, len(b.times)
}
