package idp_test

import (
	"errors"
	"os"
	"testing"

	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// FuzzParse checks that any content either fails with ErrBadSource or
// yields people with normalized, distinct primary addresses.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"entra-users.csv", "graph-users.json", "okta-users.json", "okta-users.csv", "google-users.csv", "hr-people.csv"} {
		data, err := os.ReadFile(testdata(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("email,status\na@b.c,ACTIVE\n"))
	f.Add([]byte(`[{"status":"ACTIVE","profile":{"email":"x@y.z"}}]`))
	cols, err := idp.ParseColumnMap("email=Work Email,status=Employment Status", []string{"Active"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := idp.Parse("fuzz", data, "", idp.WithColumns(cols))
		if err != nil {
			if !errors.Is(err, idp.ErrBadSource) {
				t.Fatalf("error not wrapping ErrBadSource: %v", err)
			}
			return
		}
		if len(d.People) == 0 || d.Digest == "" {
			t.Fatalf("empty directory without an error: %+v", d)
		}
		seen := make(map[string]bool)
		for _, p := range d.People {
			if p.Email != roster.NormalizeEmail(p.Email) || seen[p.Email] {
				t.Fatalf("bad or repeated primary address %q", p.Email)
			}
			seen[p.Email] = true
		}
	})
}
