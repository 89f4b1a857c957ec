package flows

import (
	"context"
	"time"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
)

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

// locate finds the row of loc, with the retry for a page that navigated
// under the script. Found is 0 only after a complete scan from the start
// of the list found no such row.
func (t *Team) locate(ctx context.Context, loc selectors.Locator) (*selectors.Located, error) {
	if err := t.ensure(ctx); err != nil {
		return nil, err
	}
	var l *selectors.Located
	err := t.retryNavigated(ctx, func() error {
		var err error
		l, err = selectors.Locate(ctx, t.b, loc, t.opts)
		return err
	})
	return l, err
}
