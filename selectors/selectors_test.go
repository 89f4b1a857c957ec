package selectors_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/selectors"
)

// These pages are renditions of the contract that the fixture server does
// not serve: an ARIA grid with comboboxes, cards with headings and mailto
// links, a workspace of one, and duplicate rows. The page script must read
// them by the hooks alone.

var (
	shared     *agent.Browser
	sharedURL  string
	sharedCtx  context.Context
	sharedOnce sync.Once
	sharedErr  error
)

// TestMain closes the browser the tests share: one browser, a new page
// load per test.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

func openPage(t *testing.T, file string) (*agent.Browser, context.Context) {
	t.Helper()
	chrome := fixturetest.Chrome(t)
	sharedOnce.Do(func() {
		hs := httptest.NewServer(http.FileServer(http.Dir("testdata")))
		sharedURL = hs.URL
		sharedCtx = context.Background()
		shared, sharedErr = agent.Open(sharedCtx, agent.Config{BaseURL: hs.URL, Workspace: "1", ChromePath: chrome, StepTimeout: 5 * time.Second})
	})
	require.NoError(t, sharedErr)
	ctx, cancel := context.WithTimeout(sharedCtx, time.Minute)
	t.Cleanup(cancel)
	require.NoError(t, shared.Navigate(ctx, sharedURL+"/"+file))
	return shared, ctx
}

var opts = selectors.Options{Step: 3 * time.Second, Total: 20 * time.Second}

type row struct {
	Email, Name, Role string
	You               bool
}

func rows(rs []selectors.Row) []row {
	out := make([]row, 0, len(rs))
	for _, r := range rs {
		out = append(out, row{r.Email, r.Name, r.Role, r.You})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

func TestCollectUnseenRenditions(t *testing.T) {
	cases := []struct {
		file        string
		members     []row
		invitations []row
	}{
		{"aria-grid.html",
			[]row{{"admin2@example.org", "Second Admin", "Admin", false}, {"emile@example.org", "Émile Zola, Jr.", "Editor", false}, {"owner@example.org", "Owner Person", "Admin", true}},
			[]row{{"later@example.org", "", "Viewer", false}}},
		{"cards.html",
			[]row{{"bram.stoker@lit.example", "bram", "Sales rep", false}, {"mary@lit.example", "Mary Shelley", "Editor", false}, {"you@lit.example", "You Owner", "Admin", true}},
			[]row{{"poe@lit.example", "", "Editor", false}}},
		{"solo.html",
			[]row{{"only.me@solo.example", "Only Me", "Admin", true}},
			[]row{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b, ctx := openPage(t, tc.file)
			c, err := selectors.Collect(ctx, b, opts)
			require.NoError(t, err)
			assert.Equal(t, tc.members, rows(c.Members))
			assert.Equal(t, tc.invitations, rows(c.Invitations))
		})
	}
}

func TestControlsOfUnseenRenditions(t *testing.T) {
	cases := []struct {
		file, email, kind string
		what              string
		disabled          bool
		control           string
	}{
		{"aria-grid.html", "emile@example.org", "member", "remove", false, ""},
		{"aria-grid.html", "EMILE@example.org", "member", "role", false, "popup"},
		{"aria-grid.html", "owner@example.org", "member", "remove", true, ""},
		{"aria-grid.html", "later@example.org", "invitation", "remove", false, ""},
		{"cards.html", "mary@lit.example", "member", "remove", false, ""},
		{"cards.html", "mary@lit.example", "member", "role", false, "select"},
		{"cards.html", "you@lit.example", "member", "role", true, "select"},
		{"cards.html", "poe@lit.example", "invitation", "remove", false, ""},
		{"solo.html", "only.me@solo.example", "member", "remove", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.email+"/"+tc.what, func(t *testing.T) {
			b, ctx := openPage(t, tc.file)
			loc, err := selectors.Locate(ctx, b, tc.email, tc.kind, opts)
			require.NoError(t, err)
			require.Equal(t, 1, loc.Found)
			p, err := selectors.RowControl(ctx, b, loc.Token, tc.what)
			require.NoError(t, err)
			assert.Equal(t, tc.disabled, p.Disabled)
			if tc.control != "" {
				assert.Equal(t, tc.control, p.Kind)
			}
			if !tc.disabled {
				assert.Greater(t, p.X, 0.0)
				assert.Greater(t, p.Y, 0.0)
			}
		})
	}
}

func TestInviteButtonOfUnseenRenditions(t *testing.T) {
	for _, file := range []string{"aria-grid.html", "cards.html", "solo.html"} {
		b, ctx := openPage(t, file)
		p, err := selectors.InviteButton(ctx, b)
		require.NoError(t, err, file)
		assert.Contains(t, p.Name, "Invite", file)
	}
}

func TestAmbiguityIsAnErrorNeverAGuess(t *testing.T) {
	b, ctx := openPage(t, "duplicate.html")
	_, err := selectors.Locate(ctx, b, "dee@dup.example", "member", opts)
	require.ErrorIs(t, err, agent.ErrPageChanged)
	var se *selectors.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "ambiguous", se.Kind)
	assert.Contains(t, err.Error(), "2 rows match")

	loc, err := selectors.Locate(ctx, b, "me@dup.example", "member", opts)
	require.NoError(t, err)
	require.Equal(t, 1, loc.Found, "a prefix is not a match")

	// two enabled controls that both read as remove
	c, err := selectors.Collect(ctx, b, opts)
	require.NoError(t, err)
	require.Len(t, c.Members, 3)
	assert.Equal(t, 2, c.Members[2].RemoveControls)
}

func TestUnknownControlNamesTheControl(t *testing.T) {
	b, ctx := openPage(t, "solo.html")
	loc, err := selectors.Locate(ctx, b, "only.me@solo.example", "member", opts)
	require.NoError(t, err)
	_, err = selectors.DialogButton(ctx, b, selectors.ConfirmRemove, "confirm button")
	require.ErrorIs(t, err, agent.ErrPageChanged)
	assert.Contains(t, err.Error(), "confirm button")
	_, err = selectors.RowControl(ctx, b, loc.Token, "frobnicate")
	require.Error(t, err)
}

// A list that replaces its rows page by page behind "Next", each page
// arriving late behind aria-busy.
func TestNextPagination(t *testing.T) {
	b, ctx := openPage(t, "next-pages.html")
	c, err := selectors.Collect(ctx, b, opts)
	require.NoError(t, err)
	require.Len(t, c.Members, 11)
	byEmail := map[string]row{}
	for _, r := range rows(c.Members) {
		byEmail[r.Email] = r
	}
	assert.Equal(t, row{"p1@pages.example", "Page Person 1", "Admin", true}, byEmail["p1@pages.example"])
	assert.Equal(t, row{"p9@pages.example", "Page Person 9", "Viewer", false}, byEmail["p9@pages.example"])
	assert.Equal(t, row{"p11@pages.example", "Page Person 11", "Editor", false}, byEmail["p11@pages.example"])
	assert.Equal(t, []row{{"waiting@pages.example", "", "Viewer", false}}, rows(c.Invitations))
	assert.GreaterOrEqual(t, c.Pages, 2)

	// a member on the last page is found, marked and its controls pointed at
	require.NoError(t, b.Navigate(ctx, sharedURL+"/next-pages.html"))
	loc, err := selectors.Locate(ctx, b, "P10@pages.example", "member", opts)
	require.NoError(t, err)
	require.Equal(t, 1, loc.Found)
	assert.Equal(t, "Page Person 10", loc.Row.Name)
	p, err := selectors.RowControl(ctx, b, loc.Token, "remove")
	require.NoError(t, err)
	assert.False(t, p.Disabled)
	r, err := selectors.RowControl(ctx, b, loc.Token, "role")
	require.NoError(t, err)
	assert.Equal(t, "select", r.Kind)
}
