package flows

import (
	"context"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
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

// read is List without the duplicate check: a plan refuses only the
// targets whose rows are ambiguous, and acts on the others.
func (t *Team) read(ctx context.Context, workspace string) (*roster.Roster, error) {
	if err := t.ensure(ctx); err != nil {
		return nil, err
	}
	var c *selectors.Collected
	err := t.retryNavigated(ctx, func() error {
		var err error
		c, err = selectors.Collect(ctx, t.b, t.opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return toRoster(c, workspace, t.now().UTC().Truncate(time.Second)), nil
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

func toRoster(c *selectors.Collected, workspace string, at time.Time) *roster.Roster {
	r := &roster.Roster{
		Workspace:   workspace,
		CapturedAt:  at,
		Members:     make([]roster.Member, 0, len(c.Members)),
		Invitations: make([]roster.Invitation, 0, len(c.Invitations)),
	}
	for _, m := range c.Members {
		r.Members = append(r.Members, roster.Member{
			Name:  m.Name,
			Email: m.Email,
			Role:  roster.CanonicalRole(m.Role),
			You:   m.You,
		})
	}
	for _, i := range c.Invitations {
		r.Invitations = append(r.Invitations, roster.Invitation{Email: i.Email, Role: roster.CanonicalRole(i.Role)})
	}
	for _, u := range c.Unreadable {
		r.Unreadable = append(r.Unreadable, roster.Unreadable{Kind: string(u.Kind), Text: u.Text})
	}
	return r
}
