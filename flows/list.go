package flows

import (
	"context"
	"strings"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// List reads every member and pending invitation of the workspace. A
// roster with two member rows of one address is refused (exit 6): a
// workspace has one seat per address, so such a read is a misread page,
// and a snapshot must not keep it.
func (t *Team) List(ctx context.Context, workspace string) (*roster.Roster, error) {
	r, err := t.read(ctx, workspace)
	if err != nil {
		return nil, err
	}
	if e, ok := duplicateMember(r); ok {
		return nil, t.errorf(agent.ErrNotVerified, "the list shows two member rows for %s; refusing a roster that counts a member twice", e)
	}
	return r, nil
}

// duplicateMember returns an address two member rows of r share.
func duplicateMember(r *roster.Roster) (string, bool) {
	seen := make(map[string]bool, len(r.Members))
	for _, m := range r.Members {
		k := strings.ToLower(m.Email)
		if seen[k] {
			return m.Email, true
		}
		seen[k] = true
	}
	return "", false
}
