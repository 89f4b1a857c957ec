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
			l := selectors.Locator{Kind: selectors.Kind(tc.kind), Email: tc.email}
			loc, err := selectors.Locate(ctx, b, l, opts)
			require.NoError(t, err)
			require.Equal(t, 1, loc.Found)
			p, err := selectors.PointControl(ctx, b, l, selectors.Control(tc.what))
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
	_, err := selectors.Locate(ctx, b, selectors.MemberRow("dee@dup.example"), opts)
	require.ErrorIs(t, err, agent.ErrPageChanged)
	var se *selectors.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, selectors.ErrorAmbiguous, se.Kind)
	assert.Contains(t, err.Error(), "2 member rows show dee@dup.example")

	loc, err := selectors.Locate(ctx, b, selectors.MemberRow("me@dup.example"), opts)
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
	l := selectors.MemberRow("only.me@solo.example")
	_, err := selectors.Locate(ctx, b, l, opts)
	require.NoError(t, err)
	_, err = selectors.DialogButton(ctx, b, selectors.ConfirmRemove, "confirm button")
	require.ErrorIs(t, err, agent.ErrPageChanged)
	assert.Contains(t, err.Error(), "confirm button")
	_, err = selectors.PointControl(ctx, b, l, "frobnicate")
	require.ErrorContains(t, err, "frobnicate")
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
	l := selectors.MemberRow("P10@pages.example")
	loc, err := selectors.Locate(ctx, b, l, opts)
	require.NoError(t, err)
	require.Equal(t, 1, loc.Found)
	assert.Equal(t, "Page Person 10", loc.Row.Name)
	p, err := selectors.PointControl(ctx, b, l, selectors.Remove)
	require.NoError(t, err)
	assert.False(t, p.Disabled)
	r, err := selectors.PointControl(ctx, b, l, selectors.Role)
	require.NoError(t, err)
	assert.Equal(t, "select", r.Kind)
}

// "Load more" must not stop as soon as the address shows anywhere: here it
// is on the page from the start as a pending invitation, while the member
// row of the same address comes in the last batch.
func TestLoadMoreIsNotStoppedByAnInvitationOfTheSameAddress(t *testing.T) {
	b, ctx := openPage(t, "load-more-invited.html")
	l, err := selectors.Locate(ctx, b, selectors.MemberRow("late@more.example"), opts)
	require.NoError(t, err)
	require.Equal(t, 1, l.Found)
	assert.Equal(t, "Late Member", l.Row.Name)
	assert.Equal(t, selectors.Member, l.Row.Kind)

	inv, err := selectors.Rendered(ctx, b, selectors.InvitationRow("late@more.example"), opts)
	require.NoError(t, err)
	assert.Equal(t, 1, inv.Found)
}

func visits(t *testing.T, ctx context.Context, b *agent.Browser) []int {
	t.Helper()
	var v []int
	require.NoError(t, b.Eval(ctx, "reading the visits", 0, "window.__visits", &v))
	return v
}

// A slow page keeps its old rows, with no busy marker, for a while after
// "Next"; every click counts. The scan clicks once and waits for the page
// to change, so no page is skipped; a page that is slower than the step
// timeout is an error, never a second click.
func TestSlowNextIsClickedOnceAndChecked(t *testing.T) {
	b, ctx := openPage(t, "slow-next.html")
	require.NoError(t, b.Eval(ctx, "resetting", 0, "sessionStorage.clear(), true", nil))
	require.NoError(t, b.Navigate(ctx, sharedURL+"/slow-next.html"))
	c, err := selectors.Collect(ctx, b, opts)
	require.NoError(t, err)
	assert.Len(t, c.Members, 14)
	assert.Equal(t, []int{1, 2, 3}, visits(t, ctx, b))
	assert.Equal(t, 3, c.Pages)
	require.NotNil(t, c.Proof)
	assert.Contains(t, c.Proof.End, "Next control is disabled")

	// the page stays on its last page, even across a reload: a member of
	// the first page is still found, and an absent one is reported absent
	// only after the list was rewound and read to its end
	require.NoError(t, b.Navigate(ctx, sharedURL+"/slow-next.html"))
	l, err := selectors.Locate(ctx, b, selectors.MemberRow("s2@slow.example"), opts)
	require.NoError(t, err)
	require.Equal(t, 1, l.Found)
	assert.Equal(t, "Slow Person 2", l.Row.Name)

	require.NoError(t, b.Navigate(ctx, sharedURL+"/slow-next.html"))
	l, err = selectors.Locate(ctx, b, selectors.MemberRow("nobody@slow.example"), opts)
	require.NoError(t, err)
	require.Equal(t, 0, l.Found)
	require.NotNil(t, l.Proof)
	assert.Equal(t, "rewound to the first page", l.Proof.Start)
	assert.Equal(t, 14, l.Counted.Members)

	// slower than the step: an error, and no page skipped
	require.NoError(t, b.Eval(ctx, "resetting", 0, "sessionStorage.clear(), true", nil))
	require.NoError(t, b.Navigate(ctx, sharedURL+"/slow-next.html"))
	_, err = selectors.Collect(ctx, b, selectors.Options{Step: 150 * time.Millisecond, Total: 20 * time.Second})
	require.ErrorIs(t, err, agent.ErrStepTimeout)
	v := visits(t, ctx, b)
	for i := 1; i < len(v); i++ {
		assert.Equal(t, v[i-1]+1, v[i], "pages visited: %v", v)
	}
}

// A heading that states more members than the page holds: the read cannot
// account for every row, so it fails (not verified) rather than returning a
// shorter list, and an absent member is not reported absent.
func TestStatedCountMustMatch(t *testing.T) {
	b, ctx := openPage(t, "miscount.html")
	_, err := selectors.Collect(ctx, b, opts)
	require.ErrorIs(t, err, agent.ErrNotVerified)
	var se *selectors.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, selectors.ErrorIncomplete, se.Kind)
	assert.Contains(t, err.Error(), "Team members 5")

	l, err := selectors.Locate(ctx, b, selectors.MemberRow("zed@count.example"), opts)
	require.ErrorIs(t, err, agent.ErrNotVerified)
	if l != nil {
		assert.Zero(t, l.Found)
	}
	// a member that is there is found all the same
	l, err = selectors.Locate(ctx, b, selectors.MemberRow("cy@count.example"), opts)
	require.NoError(t, err)
	assert.Equal(t, 1, l.Found)

	st, err := selectors.StatedCounts(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, []int{5}, st.Members)
}

// The click guard stops a click whose row shows another member by the
// time the click lands, even though the element is the same.
func TestClickGuardStopsAClickOnAReusedRow(t *testing.T) {
	b, ctx := openPage(t, "guard.html")
	loc := selectors.MemberRow("hal@guard.example")

	p, err := selectors.PointControl(ctx, b, loc, selectors.Remove)
	require.NoError(t, err)
	require.NoError(t, b.Eval(ctx, "re-rendering", 0, "window.__swap(), true", nil))
	require.NoError(t, b.ClickAt(ctx, "the remove control", p.X, p.Y))
	g, err := selectors.GuardResult(ctx, b)
	require.NoError(t, err)
	assert.False(t, g.OK)
	assert.Contains(t, g.Reason, "not hal@guard.example")
	var clicks []string
	require.NoError(t, b.Eval(ctx, "reading clicks", 0, "window.__removeClicks", &clicks))
	assert.Empty(t, clicks, "the page must not have seen the click")

	// resolved again, the click reaches the row that shows the target
	p, err = selectors.PointControl(ctx, b, loc, selectors.Remove)
	require.NoError(t, err)
	require.NoError(t, b.ClickAt(ctx, "the remove control", p.X, p.Y))
	g, err = selectors.GuardResult(ctx, b)
	require.NoError(t, err)
	assert.True(t, g.OK, g.Reason)
	require.NoError(t, b.Eval(ctx, "reading clicks", 0, "window.__removeClicks", &clicks))
	assert.Equal(t, []string{"hal@guard.example"}, clicks)
}

// The page script is installed once per document and re-injected into a
// document that lacks it.
func TestScriptIsInjectedWhenMissing(t *testing.T) {
	b, ctx := openPage(t, "solo.html")
	require.NoError(t, b.Eval(ctx, "removing the script", 0, "delete window.__clayAgent, true", nil))
	c, err := selectors.Collect(ctx, b, opts)
	require.NoError(t, err)
	assert.Len(t, c.Members, 1)
	var v string
	require.NoError(t, b.Eval(ctx, "reading the version", 0, "window.__clayAgent.version", &v))
	assert.Equal(t, selectors.Version, v)
}

// A row with controls but an email the page script cannot read (quotes
// and commas are valid in a local part) is reported with its text, counts
// against the stated count, and stops an absence proof for any address it
// could be; a role filter above the list is no row.
func TestUnreadableRowsAreReported(t *testing.T) {
	b, ctx := openPage(t, "unreadable.html")
	c, err := selectors.Collect(ctx, b, opts)
	require.NoError(t, err, "the stated count 3 includes the unreadable member")
	var emails []string
	for _, m := range c.Members {
		emails = append(emails, m.Email)
	}
	assert.ElementsMatch(t, []string{"ada@count.example", "bo@count.example"}, emails)
	assert.Empty(t, c.Invitations)
	require.Len(t, c.Unreadable, 2, "%+v", c.Unreadable)
	byKind := map[selectors.Kind]selectors.Unreadable{}
	for _, u := range c.Unreadable {
		byKind[u.Kind] = u
	}
	assert.Contains(t, byKind[selectors.Member].Text, `"di,four"@count.example`)
	assert.True(t, byKind[selectors.Member].RoleControl)
	assert.True(t, byKind[selectors.Member].RemoveControl)
	assert.Contains(t, byKind[selectors.Invitation].Text, "(weird)inv@count.example")

	for _, tc := range []struct {
		loc     selectors.Locator
		blocked bool
	}{
		{selectors.MemberRow("zed@count.example"), false},
		{selectors.MemberRow("di@count.example"), true},
		{selectors.InvitationRow("inv@count.example"), true},
		{selectors.InvitationRow("zed@count.example"), false},
	} {
		l, err := selectors.Locate(ctx, b, tc.loc, opts)
		if !tc.blocked {
			require.NoError(t, err, tc.loc.String())
			assert.Zero(t, l.Found)
			continue
		}
		require.ErrorIs(t, err, agent.ErrNotVerified, tc.loc.String())
		var se *selectors.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, selectors.ErrorUnreadable, se.Kind)
	}
	l, err := selectors.Locate(ctx, b, selectors.MemberRow("bo@count.example"), opts)
	require.NoError(t, err)
	assert.Equal(t, 1, l.Found)
}

// latePage is a Team page that renders its members at once, with no busy
// marker anywhere, and fetches its pending invitations after them: the
// answer's headers come at once and its body bodyDelay later.
const latePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Team</title></head>
<body>
<div><h1>Team</h1><div><button>+ Invite</button></div>
<div id="members"><div><div><span>Only Me</span><span> (you)</span></div><span>only.me@solo.example</span></div>
<div><select aria-label="Role" disabled><option>Admin</option><option>Editor</option></select></div>
<div><button aria-label="Remove member" disabled><svg data-icon="trash-2"></svg></button></div></div>
<h2>Pending invitations</h2><div id="invites"></div>
</div>
<script>
fetch('/invitations.json').then(function (r) { return r.json(); }).then(function (invs) {
  invs.forEach(function (inv) {
    var row = document.createElement('div');
    row.innerHTML = '<span>' + inv.email + '</span><span>Invited</span><span>' + inv.role + '</span><button aria-label="Revoke invitation"><svg data-icon="trash-2"></svg></button>';
    document.getElementById('invites').appendChild(row);
  });
});
</script>
</body></html>`

// TestInvitationsFetchedAfterTheMembersAreRead: rows that arrive from a
// request the page has not answered yet are waited for even with no busy
// marker, including a body that comes well after the headers.
func TestInvitationsFetchedAfterTheMembersAreRead(t *testing.T) {
	const bodyDelay = 600 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("/late.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(latePage))
	})
	mux.HandleFunc("/invitations.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(bodyDelay)
		_, _ = w.Write([]byte(`[{"email":"late.one@solo.example","role":"Viewer"}]`))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	b, _ := openPage(t, "solo.html")
	ctx, cancel := context.WithTimeout(sharedCtx, time.Minute)
	defer cancel()
	// as the flows do: the script runs in every document before the page's own
	require.NoError(t, selectors.Install(ctx, b))
	require.NoError(t, b.Navigate(ctx, hs.URL+"/late.html"))
	c, err := selectors.Collect(ctx, b, opts)
	require.NoError(t, err)
	assert.Equal(t, []row{{"only.me@solo.example", "Only Me", "Admin", true}}, rows(c.Members))
	assert.Equal(t, []row{{"late.one@solo.example", "", "Viewer", false}}, rows(c.Invitations), "the invitation that came after the members")
}
