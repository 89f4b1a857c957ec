package idp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/idp"
)

// hrColumns is the column mapping of testdata/hr-people.csv.
func hrColumns(t testing.TB) idp.ColumnMap {
	t.Helper()
	m, err := idp.ParseColumnMap("email=Work Email,status=Employment Status,name=Full Name,aliases=Other Emails", []string{"Active", "on leave"})
	require.NoError(t, err)
	return m
}

func testdata(name string) string { return filepath.Join("testdata", name) }

func person(t *testing.T, d *idp.Directory, email string) idp.Person {
	t.Helper()
	for _, p := range d.People {
		if p.Email == email {
			return p
		}
	}
	t.Fatalf("%s: no person %s", d.Source, email)
	return idp.Person{}
}

func TestLoadFilesDetectsTheirFormat(t *testing.T) {
	tests := []struct {
		file   string
		format idp.Format
		people int
		// bob is robert.oneil@acme.test's aliases
		bob     []string
		john    string // john.smith's raw status
		pending string // pending.one's raw status
	}{
		{"entra-users.csv", idp.FormatEntraCSV, 15, []string{"bob.oneil@acme.test"}, "accountEnabled=False", "accountEnabled=False"},
		{"graph-users.json", idp.FormatGraphJSON, 15, []string{"bob.oneil@acme.test"}, "accountEnabled=false", "accountEnabled=false"},
		{"okta-users.json", idp.FormatOktaJSON, 16, []string{"bob.oneil@acme.test"}, "SUSPENDED", "DEPROVISIONED"},
		{"okta-users.csv", idp.FormatOktaCSV, 16, []string{"bob.oneil@acme.test"}, "SUSPENDED", "DEPROVISIONED"},
		{"hr-people.csv", idp.FormatCSV, 14, []string{"bob.oneil@acme.test"}, "Terminated", "Terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := idp.Load(context.Background(), testdata(tt.file), idp.WithColumns(hrColumns(t)))
			require.NoError(t, err)
			assert.Equal(t, tt.format, d.Format)
			assert.Equal(t, testdata(tt.file), d.Source)
			assert.Len(t, d.People, tt.people)

			data, err := os.ReadFile(testdata(tt.file))
			require.NoError(t, err)
			sum := sha256.Sum256(data)
			assert.Equal(t, hex.EncodeToString(sum[:]), d.Digest)

			bob := person(t, d, "robert.oneil@acme.test")
			assert.True(t, bob.Active)
			assert.Equal(t, tt.bob, bob.Aliases)
			john := person(t, d, "john.smith@acme.test")
			assert.False(t, john.Active)
			assert.Equal(t, tt.john, john.Status)
			assert.Equal(t, "John Smith", john.Name)
			pending := person(t, d, "pending.one@acme.test")
			assert.False(t, pending.Active)
			assert.Equal(t, tt.pending, pending.Status)
			assert.True(t, person(t, d, "jo.park@acme.test").Active)
		})
	}
}

func TestLoadGoogleCSV(t *testing.T) {
	d, err := idp.Load(context.Background(), testdata("google-users.csv"))
	require.NoError(t, err)
	assert.Equal(t, idp.FormatGoogleCSV, d.Format)
	assert.Len(t, d.People, 14)
	assert.Equal(t, idp.Person{Email: "admin@acme.test", Name: "Ana López", Status: "Active", Active: true}, d.People[0])
	assert.Equal(t, "Suspended", person(t, d, "john.smith@acme.test").Status)
	kal := person(t, d, "kal@acme.test")
	assert.Equal(t, "Archived", kal.Status)
	assert.False(t, kal.Active)
	assert.True(t, person(t, d, "bob.oneil@acme-corp.test").Active)
}

func TestEntraAliasesAndGuests(t *testing.T) {
	d, err := idp.Load(context.Background(), testdata("graph-users.json"))
	require.NoError(t, err)
	zoe := person(t, d, "zoe.alander@acme.test")
	assert.Equal(t, []string{"zoe.alander@example.net"}, zoe.Aliases, "otherMails are aliases")
	svc := person(t, d, "svc-backup@acmetest.onmicrosoft.com")
	assert.True(t, svc.Active, "an account without a mailbox is found by its UPN")
	guest := person(t, d, "consultant@partner.test")
	assert.True(t, guest.Guest)
	assert.Equal(t, "accountEnabled=true; userType=Guest", guest.Status)
	assert.Equal(t, []string{"consultant_partner.test#ext#@acmetest.onmicrosoft.com"}, guest.Aliases)
}

func TestGraphPagesMakeTheWholeFile(t *testing.T) {
	whole, err := idp.Load(context.Background(), testdata("graph-users.json"))
	require.NoError(t, err)
	page2, err := idp.Load(context.Background(), testdata("graph-users-page2.json"))
	require.NoError(t, err)
	assert.Equal(t, whole.People[len(whole.People)-len(page2.People):], page2.People)

	_, err = idp.Load(context.Background(), testdata("graph-users-page1.json"))
	require.Error(t, err)
	assert.ErrorIs(t, err, idp.ErrBadSource)
	assert.ErrorIs(t, err, idp.ErrIncomplete)
	assert.Contains(t, err.Error(), "@odata.nextLink")
}

func TestExplicitFormatOverridesDetection(t *testing.T) {
	// An Okta CSV read as a generic CSV: the mapping decides what active means.
	m, err := idp.ParseColumnMap("email=email,status=status", []string{"ACTIVE"})
	require.NoError(t, err)
	d, err := idp.Load(context.Background(), "csv:"+testdata("okta-users.csv"), idp.WithColumns(m))
	require.NoError(t, err)
	assert.Equal(t, idp.FormatCSV, d.Format)
	assert.Equal(t, testdata("okta-users.csv"), d.Source)
	assert.False(t, person(t, d, "maria.garcia@acme.test").Active, "PASSWORD_EXPIRED is not among the mapping's active words")

	// The same file named as another format fails that format's checks.
	_, err = idp.Load(context.Background(), "google-csv:"+testdata("okta-users.csv"))
	require.ErrorIs(t, err, idp.ErrBadSource)
	assert.Contains(t, err.Error(), "no email column")
}

func TestParseInlineContent(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		format idp.Format
		want   []idp.Person
	}{
		{
			name: "entra csv with BOM, other case and extra columns",
			data: "\ufeffUserPrincipalName,DisplayName,Mail,AccountEnabled,UserType,Extra\r\n" +
				"A.B@Acme.Test,A B,,TRUE,Member,x\r\n" +
				"g_x.test#EXT#@acme.onmicrosoft.com,G,g@x.test,false,Guest,\r\n",
			want: []idp.Person{
				{Email: "a.b@acme.test", Name: "A B", Status: "accountEnabled=TRUE", Active: true},
				{Email: "g@x.test", Aliases: []string{"g_x.test#ext#@acme.onmicrosoft.com"}, Name: "G", Status: "accountEnabled=false; userType=Guest", Guest: true},
			},
		},
		{
			name: "entra csv with spaced headers and semicolons",
			data: "User principal name;Display name;Account enabled\nx@acme.test;X;True\n",
			want: []idp.Person{{Email: "x@acme.test", Name: "X", Status: "accountEnabled=True", Active: true}},
		},
		{
			name: "graph json: proxy addresses by prefix only",
			data: `{"value":[{"mail":"m@acme.test","userPrincipalName":"m@acme.test","accountEnabled":true,
				"proxyAddresses":["SMTP:m@acme.test","smtp:old@acme.test","x500:/o=Org/cn=m","sip:m@acme.test","SmTp:mixed@acme.test"],"otherMails":["m@home.test"]}]}`,
			want: []idp.Person{{Email: "m@acme.test", Aliases: []string{"old@acme.test", "mixed@acme.test", "m@home.test"}, Status: "accountEnabled=true", Active: true}},
		},
		{
			name: "graph json as a bare array",
			data: `[{"userPrincipalName":"u@acme.test","accountEnabled":false,"displayName":"U"}]`,
			want: []idp.Person{{Email: "u@acme.test", Name: "U", Status: "accountEnabled=false"}},
		},
		{
			name: "okta json: login that is not an address, secondEmail alias",
			data: `[{"id":"00u1","status":"LOCKED_OUT","profile":{"login":"jdoe","email":"J.Doe@acme.test","secondEmail":"jd@home.test","firstName":"J","lastName":"Doe"}}]`,
			want: []idp.Person{{Email: "j.doe@acme.test", Aliases: []string{"jd@home.test"}, Name: "J Doe", Status: "LOCKED_OUT", Active: true}},
		},
		{
			name: "okta csv with console labels",
			data: "Username,Primary email,Status\na@acme.test,a@acme.test,Deactivated\nb@acme.test,b@acme.test,Password reset\nc,c@acme.test,Pending user action\n",
			want: []idp.Person{
				{Email: "a@acme.test", Status: "Deactivated"},
				{Email: "b@acme.test", Status: "Password reset", Active: true},
				{Email: "c@acme.test", Status: "Pending user action"},
			},
		},
		{
			name: "same status twice is merged",
			data: "email,status\na@acme.test,ACTIVE\nA@ACME.TEST,LOCKED_OUT\n",
			want: []idp.Person{{Email: "a@acme.test", Status: "ACTIVE", Active: true}},
		},
		{
			name:   "explicit okta-csv",
			data:   "login,status\nx@acme.test,SUSPENDED\n",
			format: idp.FormatOktaCSV,
			want:   []idp.Person{{Email: "x@acme.test", Status: "SUSPENDED"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := idp.Parse("inline", []byte(tt.data), tt.format)
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.People)
			sum := sha256.Sum256([]byte(tt.data))
			assert.Equal(t, hex.EncodeToString(sum[:]), d.Digest)
		})
	}
}

func TestBadSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tests := []struct {
		name  string
		spec  string
		cols  bool
		wants []string // parts of the message
	}{
		{"missing file", filepath.Join(dir, "nope.csv"), false, []string{"nope.csv", "no such file"}},
		{"a directory", dir, false, []string{dir}},
		{"unknown header", write("x.csv", "Name,Team,Email\nA,B,a@acme.test\n"), false,
			[]string{"header row not recognised", `"Name", "Team", "Email"`, "entra-csv", "okta-csv", "google-csv", "csv:PATH"}},
		{"no email column", write("y.csv", "Name,Status\nA,Active\n"), false,
			[]string{"no email column", `"Name", "Status"`, "known formats"}},
		{"mapped email column missing", "csv:" + write("z.csv", "Name,Employment Status\nA,Active\n"), true,
			[]string{`no email column "Work Email"`}},
		{"entra csv without accountEnabled", "entra-csv:" + write("e.csv", "userPrincipalName,displayName\na@acme.test,A\n"), false,
			[]string{"no accountEnabled column"}},
		{"empty file", write("empty.csv", ""), false, []string{"no people"}},
		{"header only", write("h.csv", "userPrincipalName,accountEnabled\n"), false, []string{"no people"}},
		{"empty json array", write("e.json", "[]"), false, []string{"no people"}},
		{"empty graph page", write("g.json", `{"value":[]}`), false, []string{"no people"}},
		{"no addresses at all", write("n.csv", "login,status\njdoe,ACTIVE\n"), false, []string{"no people", "1 record"}},
		{"conflicting duplicates", write("d.csv", "email,status\na@acme.test,ACTIVE\nb@acme.test,ACTIVE\nA@acme.test,SUSPENDED\n"), false,
			[]string{"a@acme.test is listed twice", `"ACTIVE" (line 2)`, `"SUSPENDED" (line 4)`}},
		{"conflicting json duplicates", write("d.json", `[{"id":"1","status":"ACTIVE","profile":{"email":"a@acme.test"}},{"id":"2","status":"DEPROVISIONED","profile":{"email":"a@acme.test"}}]`), false,
			[]string{"a@acme.test is listed twice", "user 1", "user 2"}},
		{"unknown okta status", write("s.csv", "email,status\na@acme.test,GONE\n"), false, []string{`line 2: unknown Okta status "GONE"`}},
		{"unknown google status", write("gs.csv", "Email Address [Required],Status [READ ONLY]\na@acme.test,Gone\n"), false, []string{`unknown Google Workspace status "Gone"`}},
		{"bad accountEnabled", write("b.csv", "userPrincipalName,accountEnabled\na@acme.test,yes\n"), false, []string{`line 2: accountEnabled: "yes"`}},
		{"graph without accountEnabled", write("ga.json", `{"value":[{"id":"u1","userPrincipalName":"a@acme.test"}]}`), false, []string{"user u1", "accountEnabled", "$select"}},
		{"okta error response", write("err.json", `{"errorCode":"E0000011","errorSummary":"Invalid token provided"}`), false, []string{"Okta error response", "Invalid token provided"}},
		{"unknown json", write("u.json", `[{"name":"x"}]`), false, []string{`keys "name"`}},
		{"csv without mapping", "csv:" + write("c.csv", "email,status\na@acme.test,ACTIVE\n"), false, []string{"needs a column mapping"}},
		{"utf-16", write("w.csv", "\xff\xfee\x00"), false, []string{"UTF-16"}},
		{"broken csv", write("q.csv", "email,status\n\"a@acme.test,ACTIVE\n"), false, []string{"not a readable CSV"}},
		{"okta url with a path", "okta:https://acme.okta.com/api/v1/users", false, []string{"org URL alone"}},
		{"okta over http", "okta:http://acme.okta.com", false, []string{"unencrypted"}},
		{"okta file", "okta:users.json", false, []string{"okta-json:PATH"}},
		{"entra path", "entra:./users.csv", false, []string{"entra-csv:PATH"}},
		{"empty spec", " ", false, []string{"empty source"}},
		{"format without file", "okta-csv:", false, []string{"no file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []idp.Option
			if tt.cols {
				opts = append(opts, idp.WithColumns(hrColumns(t)))
			}
			d, err := idp.Load(context.Background(), tt.spec, opts...)
			require.Error(t, err)
			assert.Nil(t, d)
			assert.ErrorIs(t, err, idp.ErrBadSource)
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec string
		want idp.Spec
		name string
	}{
		{"users.csv", idp.Spec{Path: "users.csv"}, "users.csv"},
		{"exports/2025-01-01T10:00.csv", idp.Spec{Path: "exports/2025-01-01T10:00.csv"}, "exports/2025-01-01T10:00.csv"},
		{"OKTA-CSV:a.csv", idp.Spec{Format: idp.FormatOktaCSV, Path: "a.csv"}, "a.csv"},
		{"graph-json:/tmp/u.json", idp.Spec{Format: idp.FormatGraphJSON, Path: "/tmp/u.json"}, "/tmp/u.json"},
		{"okta:https://Acme.okta.com/", idp.Spec{Format: idp.FormatOktaAPI, URL: "https://acme.okta.com"}, "okta:https://acme.okta.com"},
		{"okta:http://127.0.0.1:8080", idp.Spec{Format: idp.FormatOktaAPI, URL: "http://127.0.0.1:8080"}, "okta:http://127.0.0.1:8080"},
		{"entra:contoso.onmicrosoft.com", idp.Spec{Format: idp.FormatGraphAPI, Tenant: "contoso.onmicrosoft.com"}, "entra:contoso.onmicrosoft.com"},
		{"entra:72f988bf-86f1-41af-91ab-2d7cd011db47", idp.Spec{Format: idp.FormatGraphAPI, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"}, "entra:72f988bf-86f1-41af-91ab-2d7cd011db47"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := idp.ParseSpec(tt.spec)
			require.NoError(t, err)
			assert.Equal(t, tt.want, s)
			assert.Equal(t, tt.name, s.String())
			assert.Equal(t, tt.want.Format == idp.FormatOktaAPI || tt.want.Format == idp.FormatGraphAPI, s.Live())
		})
	}
}

func TestParseColumnMap(t *testing.T) {
	m, err := idp.ParseColumnMap(" Status = State , EMAIL=Work Email,name=Full Name,alias=Other", []string{" Active ", "", "Leave"})
	require.NoError(t, err)
	assert.Equal(t, idp.ColumnMap{Email: "Work Email", Status: "State", Name: "Full Name", Aliases: "Other", Active: []string{"Active", "Leave"}}, m)

	bad := []struct {
		mapping string
		active  []string
		want    string
	}{
		{"status=S", []string{"a"}, "email=COLUMN is required"},
		{"email=E", []string{"a"}, "status=COLUMN is required"},
		{"email=E,status=S", nil, "no status word means active"},
		{"email=E,status=S,team=T", []string{"a"}, `unknown key "team"`},
		{"email=E,email=F,status=S", []string{"a"}, "email given twice"},
		{"email,status=S", []string{"a"}, "want KEY=COLUMN"},
		{"email=,status=S", []string{"a"}, "want KEY=COLUMN"},
	}
	for _, tt := range bad {
		_, err := idp.ParseColumnMap(tt.mapping, tt.active)
		require.ErrorIs(t, err, idp.ErrBadOption, tt.mapping)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestParseOktaStatus(t *testing.T) {
	tests := []struct {
		in     string
		want   idp.OktaStatus
		active bool
	}{
		{"ACTIVE", idp.OktaActive, true},
		{"active", idp.OktaActive, true},
		{"RECOVERY", idp.OktaRecovery, true},
		{"Password reset", idp.OktaRecovery, true},
		{"PASSWORD_EXPIRED", idp.OktaPasswordExpired, true},
		{"Password expired", idp.OktaPasswordExpired, true},
		{"LOCKED_OUT", idp.OktaLockedOut, true},
		{"Locked out", idp.OktaLockedOut, true},
		{"STAGED", idp.OktaStaged, false},
		{"PROVISIONED", idp.OktaProvisioned, false},
		{"Pending user action", idp.OktaProvisioned, false},
		{"SUSPENDED", idp.OktaSuspended, false},
		{"DEPROVISIONED", idp.OktaDeprovisioned, false},
		{"Deactivated", idp.OktaDeprovisioned, false},
	}
	for _, tt := range tests {
		got, err := idp.ParseOktaStatus(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.active, got.Active(), tt.in)
	}
	for _, bad := range []string{"", "INACTIVE", "ACTIVE!"} {
		_, err := idp.ParseOktaStatus(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseFormat(t *testing.T) {
	f, err := idp.ParseFormat(" Okta-JSON ")
	require.NoError(t, err)
	assert.Equal(t, idp.FormatOktaJSON, f)
	_, err = idp.ParseFormat("okta-api")
	assert.ErrorIs(t, err, idp.ErrBadOption)
}

func TestLoadAllStopsAtTheFirstBadSource(t *testing.T) {
	dirs, err := idp.LoadAll(context.Background(), []string{testdata("okta-users.json"), testdata("google-users.csv")})
	require.NoError(t, err)
	require.Len(t, dirs, 2)
	assert.Equal(t, idp.FormatOktaJSON, dirs[0].Format)
	assert.Equal(t, idp.FormatGoogleCSV, dirs[1].Format)

	dirs, err = idp.LoadAll(context.Background(), []string{testdata("okta-users.json"), testdata("missing.csv")})
	assert.ErrorIs(t, err, idp.ErrBadSource)
	assert.Nil(t, dirs)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = idp.LoadAll(ctx, []string{testdata("okta-users.json")})
	assert.ErrorIs(t, err, context.Canceled)
}
