package idp_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
)

// seedRoster is the fixture workspace's roster as the agent reads it.
func seedRoster() *roster.Roster {
	r := &roster.Roster{Workspace: "Acme"}
	for i, m := range fixtures.SeedMembers() {
		r.Members = append(r.Members, roster.Member{Name: m.Name, Email: m.Email, Role: roster.CanonicalRole(m.Role), You: i == 0})
	}
	for _, inv := range fixtures.SeedInvitations() {
		r.Invitations = append(r.Invitations, roster.Invitation{Email: inv.Email, Role: roster.CanonicalRole(inv.Role)})
	}
	return r
}

// seedFindings is what every testdata file says of the seed roster.
var seedFindings = map[string]idp.Finding{
	"admin@acme.test":        idp.FindingActive,
	"al@acme.test":           idp.FindingActive,
	"bob.oneil@acme.test":    idp.FindingActive,
	"Jo.Park@Acme.test":      idp.FindingActive,
	"john.smith@acme.test":   idp.FindingInactiveInIdP,
	"kal@acme.test.io":       idp.FindingExternal,
	"maria.garcia@acme.test": idp.FindingActive,
	"priya.nair@acme.test":   idp.FindingActive,
	"sal@acme.test":          idp.FindingActive,
	"tom.becker@acme.test":   idp.FindingNotInIdP,
	"xiaolong.li@acme.test":  idp.FindingActive,
	"zoe.alander@acme.test":  idp.FindingActive,
	"new.hire@partner.test":  idp.FindingInvitationExternal,
	"pending.one@acme.test":  idp.FindingInvitationInactiveInIdP,
}

func TestReconcileSeedAgainstEveryFile(t *testing.T) {
	alias, err := idp.ParseDomainAlias("acme.test=acme-corp.test")
	require.NoError(t, err)
	tests := []struct {
		file    string
		aliases []idp.DomainAlias
		domains []string
	}{
		{file: "entra-users.csv"},
		{file: "graph-users.json"},
		{file: "okta-users.json"},
		{file: "okta-users.csv"},
		{file: "hr-people.csv"},
		{file: "google-users.csv", aliases: []idp.DomainAlias{alias}},
		{file: "okta-users.json", domains: []string{"ACME.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := idp.Load(context.Background(), testdata(tt.file), idp.WithColumns(hrColumns(t)))
			require.NoError(t, err)
			ix := idp.NewIndex([]*idp.Directory{d}, tt.aliases)
			rep, err := idp.Reconcile(seedRoster(), ix, tt.domains)
			require.NoError(t, err)
			got := make(map[string]idp.Finding)
			for _, row := range rep.Findings {
				got[row.Email] = row.Finding
			}
			assert.Equal(t, seedFindings, got)
			assert.Equal(t, map[idp.Finding]int{
				idp.FindingActive:                  9,
				idp.FindingInactiveInIdP:           1,
				idp.FindingNotInIdP:                1,
				idp.FindingExternal:                1,
				idp.FindingInvitationInactiveInIdP: 1,
				idp.FindingInvitationExternal:      1,
			}, rep.Summary)
		})
	}
}

func TestGoogleWithoutTheDomainAliasMissesBob(t *testing.T) {
	d, err := idp.Load(context.Background(), testdata("google-users.csv"))
	require.NoError(t, err)
	ix := idp.NewIndex([]*idp.Directory{d}, nil)
	rep, err := idp.Reconcile(seedRoster(), ix, nil)
	require.NoError(t, err)
	for _, row := range rep.Findings {
		if row.Email == "bob.oneil@acme.test" {
			assert.Equal(t, idp.FindingNotInIdP, row.Finding)
		}
	}
}

func TestReportRowsAndJSON(t *testing.T) {
	d, err := idp.Load(context.Background(), testdata("okta-users.json"))
	require.NoError(t, err)
	r := seedRoster()
	r.Unreadable = []roster.Unreadable{
		{Kind: "invitation", Text: "Pending · Editor"},
		{Kind: "member", Text: "M. Unknown  Editor"},
	}
	rep, err := idp.Reconcile(r, idp.NewIndex([]*idp.Directory{d}, nil), []string{"acme.test"})
	require.NoError(t, err)
	require.Len(t, rep.Findings, 16)

	var order []string
	for _, row := range rep.Findings {
		order = append(order, string(row.Kind)+" "+row.Email+" "+row.Name)
	}
	assert.Equal(t, []string{
		"member  M. Unknown  Editor",
		"member admin@acme.test Ana López",
		"member al@acme.test Al Brenner",
		"member bob.oneil@acme.test Robert \"Bob\" O'Neil",
		"member Jo.Park@Acme.test Jo Park",
		"member john.smith@acme.test Smith, John",
		"member kal@acme.test.io Kal Iyer",
		"member maria.garcia@acme.test Maria Garcia",
		"member priya.nair@acme.test Priya Nair",
		"member sal@acme.test Sal Moreno",
		"member tom.becker@acme.test Tom Becker",
		"member xiaolong.li@acme.test 李小龍",
		"member zoe.alander@acme.test Zoë Ålander",
		"invitation  Pending · Editor",
		"invitation new.hire@partner.test ",
		"invitation pending.one@acme.test Pending One",
	}, order)

	byEmail := func(email string) idp.Row {
		for _, row := range rep.Findings {
			if row.Email == email {
				return row
			}
		}
		t.Fatalf("no row for %s", email)
		return idp.Row{}
	}
	assert.Equal(t, idp.Row{
		Email: "john.smith@acme.test", Name: "Smith, John", Kind: idp.KindMember, Role: roster.Editor,
		Finding: idp.FindingInactiveInIdP, IdPStatus: "SUSPENDED", Source: testdata("okta-users.json"),
	}, byEmail("john.smith@acme.test"))
	assert.Equal(t, idp.Row{
		Email: "pending.one@acme.test", Name: "Pending One", Kind: idp.KindInvitation, Role: roster.Editor,
		Finding: idp.FindingInvitationInactiveInIdP, IdPStatus: "DEPROVISIONED", Source: testdata("okta-users.json"),
	}, byEmail("pending.one@acme.test"))
	assert.Equal(t, idp.Row{
		Email: "tom.becker@acme.test", Name: "Tom Becker", Kind: idp.KindMember, Role: roster.SalesRep, Finding: idp.FindingNotInIdP,
	}, byEmail("tom.becker@acme.test"))
	assert.Equal(t, "PASSWORD_EXPIRED", byEmail("maria.garcia@acme.test").IdPStatus)
	assert.Equal(t, idp.FindingUnreadable, rep.Findings[0].Finding)
	assert.Equal(t, idp.FindingInvitationUnreadable, rep.Findings[13].Finding)
	assert.Equal(t, 1, rep.Count(idp.FindingUnreadable))
	assert.Equal(t, 1, rep.Count(idp.FindingInvitationUnreadable))
	assert.Zero(t, rep.Count(idp.FindingInvitationNotInIdP))

	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	var shape struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]int   `json:"summary"`
	}
	require.NoError(t, json.Unmarshal(raw, &shape))
	assert.Len(t, shape.Findings, 16)
	var keys []string
	for k := range shape.Findings[1] {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"email", "name", "kind", "role", "finding", "idp_status", "source"}, keys)
	assert.Equal(t, 1, shape.Summary["inactive-in-idp"])
	assert.JSONEq(t, `{"email":"admin@acme.test","name":"Ana López","kind":"member","role":"Admin","finding":"active","idp_status":"ACTIVE","source":"testdata/okta-users.json"}`,
		string(mustJSON(t, rep.Findings[1])))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestEmptyReportJSON(t *testing.T) {
	rep, err := idp.Reconcile(&roster.Roster{}, idp.NewIndex(nil, nil), nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"findings":[],"summary":{}}`, string(mustJSON(t, rep)))
}

func dir(source string, people ...idp.Person) *idp.Directory {
	return &idp.Directory{Source: source, Format: idp.FormatCSV, People: people}
}

func TestCompanyDomains(t *testing.T) {
	d := dir("hr",
		idp.Person{Email: "a@acme.test", Status: "Active", Active: true},
		idp.Person{Email: "b@sub.acme.test", Status: "Active", Active: true},
		idp.Person{Email: "guest@partner.test", Status: "Active", Active: true, Guest: true},
	)
	alias := idp.DomainAlias{From: "old-acme.test", To: "acme.test"}
	members := []string{"x@acme.test", "x@ACME.TEST", "x@acme.test.co", "x@sub.acme.test", "x@other.sub.acme.test", "x@partner.test", "x@old-acme.test", "x@acme.test.io"}
	r := &roster.Roster{}
	for _, m := range members {
		r.Members = append(r.Members, roster.Member{Email: m})
	}
	tests := []struct {
		name    string
		domains []string
		aliases []idp.DomainAlias
		company []string // members found not-in-idp; the rest are external
	}{
		{"inferred from the directory, guests left out", nil, nil, []string{"x@acme.test", "x@ACME.TEST", "x@sub.acme.test"}},
		{"given, compared whole", []string{"@Acme.Test"}, nil, []string{"x@acme.test", "x@ACME.TEST"}},
		{"a domain alias's From is the company's", []string{"acme.test"}, []idp.DomainAlias{alias}, []string{"x@acme.test", "x@ACME.TEST", "x@old-acme.test"}},
		{"inferred plus alias", nil, []idp.DomainAlias{alias}, []string{"x@acme.test", "x@ACME.TEST", "x@sub.acme.test", "x@old-acme.test"}},
		{"given partner domain", []string{"partner.test"}, nil, []string{"x@partner.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := idp.NewIndex([]*idp.Directory{d}, tt.aliases)
			rep, err := idp.Reconcile(r, ix, tt.domains)
			require.NoError(t, err)
			var company []string
			for _, row := range rep.Findings {
				switch row.Finding {
				case idp.FindingNotInIdP:
					company = append(company, row.Email)
				case idp.FindingExternal:
				default:
					t.Errorf("%s: %s", row.Email, row.Finding)
				}
			}
			assert.ElementsMatch(t, tt.company, company)
		})
	}
	assert.Equal(t, []string{"acme.test", "sub.acme.test"}, idp.NewIndex([]*idp.Directory{d}, nil).Domains())

	_, err := idp.Reconcile(r, idp.NewIndex(nil, nil), []string{"acme"})
	assert.ErrorIs(t, err, idp.ErrBadOption)
	_, err = idp.Reconcile(nil, idp.NewIndex(nil, nil), nil)
	assert.ErrorIs(t, err, idp.ErrBadOption)
}

func TestLookup(t *testing.T) {
	okta := dir("okta",
		idp.Person{Email: "al@acme.test", Status: "ACTIVE", Active: true},
		idp.Person{Email: "kal@acme.test", Status: "DEPROVISIONED"},
		idp.Person{Email: "robert@acme.test", Aliases: []string{"bob@acme.test"}, Name: "Robert", Status: "ACTIVE", Active: true},
		idp.Person{Email: "gone@acme.test", Status: "DEPROVISIONED"},
		idp.Person{Email: "old.alias.owner@acme.test", Aliases: []string{"shared@acme.test"}, Status: "SUSPENDED"},
		idp.Person{Email: "kelvin@acme.test", Status: "ACTIVE", Active: true},
		idp.Person{Email: "moved@new.test", Status: "ACTIVE", Active: true},
		idp.Person{Email: "both@old.test", Status: "SUSPENDED"},
		idp.Person{Email: "both@new.test", Status: "ACTIVE", Active: true},
	)
	google := dir("google",
		idp.Person{Email: "gone@acme.test", Status: "Active", Active: true},
		idp.Person{Email: "shared@acme.test", Status: "Suspended"},
		idp.Person{Email: "only.google@acme.test", Status: "Suspended"},
	)
	ix := idp.NewIndex([]*idp.Directory{okta, google}, []idp.DomainAlias{{From: "old.test", To: "new.test"}})
	tests := []struct {
		email string
		found bool
		want  idp.Match
	}{
		{"AL@Acme.Test", true, idp.Match{Email: "al@acme.test", Primary: "al@acme.test", Active: true, Status: "ACTIVE", Source: "okta"}},
		{" al@acme.test ", true, idp.Match{Email: "al@acme.test", Primary: "al@acme.test", Active: true, Status: "ACTIVE", Source: "okta"}},
		{"sal@acme.test", false, idp.Match{}},
		{"l@acme.test", false, idp.Match{}},
		{"al@acme.tes", false, idp.Match{}},
		{"kal@acme.test.io", false, idp.Match{}},
		{"kal@acme.test", true, idp.Match{Email: "kal@acme.test", Primary: "kal@acme.test", Status: "DEPROVISIONED", Source: "okta"}},
		{"bob@acme.test", true, idp.Match{Email: "bob@acme.test", Primary: "robert@acme.test", Name: "Robert", Active: true, Status: "ACTIVE", Source: "okta", ViaAlias: true}},
		// any source active wins
		{"gone@acme.test", true, idp.Match{Email: "gone@acme.test", Primary: "gone@acme.test", Active: true, Status: "Active", Source: "google"}},
		// both inactive: the account whose primary address it is wins
		{"shared@acme.test", true, idp.Match{Email: "shared@acme.test", Primary: "shared@acme.test", Status: "Suspended", Source: "google"}},
		// the Kelvin sign is not folded to k
		{"\u212Aelvin@acme.test", false, idp.Match{}},
		{"moved@old.test", true, idp.Match{Email: "moved@new.test", Primary: "moved@new.test", Active: true, Status: "ACTIVE", Source: "okta", ViaDomain: true}},
		// one way only
		{"moved@new.test", true, idp.Match{Email: "moved@new.test", Primary: "moved@new.test", Active: true, Status: "ACTIVE", Source: "okta"}},
		{"both@new.test", true, idp.Match{Email: "both@new.test", Primary: "both@new.test", Active: true, Status: "ACTIVE", Source: "okta"}},
		// active through the domain alias beats inactive directly
		{"both@old.test", true, idp.Match{Email: "both@new.test", Primary: "both@new.test", Active: true, Status: "ACTIVE", Source: "okta", ViaDomain: true}},
		{"", false, idp.Match{}},
	}
	for _, tt := range tests {
		got, ok := ix.Lookup(tt.email)
		assert.Equal(t, tt.found, ok, tt.email)
		assert.Equal(t, tt.want, got, tt.email)
	}
}

func TestParseDomainAlias(t *testing.T) {
	a, err := idp.ParseDomainAlias(" Old.COM = @new.com ")
	require.NoError(t, err)
	assert.Equal(t, idp.DomainAlias{From: "old.com", To: "new.com"}, a)
	for _, bad := range []string{"old.com", "old.com=", "=new.com", "old.com=old.com", "old=new.com", "old..com=new.com", "old com=new.com", "ölд.com=new.com"} {
		_, err := idp.ParseDomainAlias(bad)
		assert.ErrorIs(t, err, idp.ErrBadOption, bad)
	}
}

func TestSeveralSourcesAnyActiveWins(t *testing.T) {
	okta, err := idp.Load(context.Background(), testdata("okta-users.json"))
	require.NoError(t, err)
	hr := dir("hr", idp.Person{Email: "john.smith@acme.test", Status: "Active", Active: true})
	rep, err := idp.Reconcile(seedRoster(), idp.NewIndex([]*idp.Directory{okta, hr}, nil), nil)
	require.NoError(t, err)
	for _, row := range rep.Findings {
		if row.Email == "john.smith@acme.test" {
			assert.Equal(t, idp.FindingActive, row.Finding)
			assert.Equal(t, "hr", row.Source)
			assert.Equal(t, "Active", row.IdPStatus)
		}
	}
}
