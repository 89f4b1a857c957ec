package flows

import (
	"context"
	"slices"
	"strings"

	"github.com/clay-agent/clay-agent/selectors"
)

// toasts reads the messages the page's toasts show now; none when they
// cannot be read.
func (t *Team) toasts(ctx context.Context) []string {
	msgs, err := selectors.Toasts(ctx, t.b)
	if err != nil {
		return nil
	}
	return msgs
}

// newToasts returns the toasts shown now that are not among before.
func (t *Team) newToasts(ctx context.Context, before []string) []string {
	var out []string
	for _, m := range t.toasts(ctx) {
		if !slices.Contains(before, m) {
			out = append(out, m)
		}
	}
	return out
}

// looksLikeError tells an error toast from a success one ("Member
// removed").
func looksLikeError(msgs []string) bool {
	for _, m := range msgs {
		l := strings.ToLower(m)
		for _, w := range []string{"error", "failed", "could not", "couldn't", "cannot", "can't", "unable", "wrong", "denied", "not allowed", "forbidden", "must", "needs at least", "try again", "no seats", "already"} {
			if strings.Contains(l, w) {
				return true
			}
		}
	}
	return false
}
