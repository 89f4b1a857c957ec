package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

// benchWorkspace is a fake backend with n members, and a service in front
// of it that has read its roster once.
func benchWorkspace(b *testing.B, n int) *harness {
	be := newFakeBackend()
	for i := range n {
		be.addMember(fmt.Sprintf("member%05d@acme.test", i), fmt.Sprintf("Member %d", i), roster.Editor, false)
	}
	h := newHarness(b, be, func(c *scim.Config) { c.RatePerClient = 1e9; c.Burst = 1 << 30 })
	if r := h.do(http.MethodGet, "/scim/v2/Users?count=1", nil); r.Code != http.StatusOK {
		b.Fatalf("warm-up: %d %s", r.Code, r.Body.String())
	}
	return h
}

// BenchmarkReadsFromTheKeptRoster measures the reads identity providers
// make, answered from the kept roster of 5,000 members: Okta's test
// suite allows 600 ms per request.
func BenchmarkReadsFromTheKeptRoster(b *testing.B) {
	h := benchWorkspace(b, 5000)
	for _, bc := range []struct{ name, path string }{
		{"filter userName", "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "member02500@acme.test"`)},
		{"page of 100", "/scim/v2/Users?startIndex=2401&count=100"},
		{"get by id", "/scim/v2/Users/" + scim.UserID("member04999@acme.test")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if r := h.do(http.MethodGet, bc.path, nil); r.Code != http.StatusOK {
					b.Fatalf("%d %s", r.Code, r.Body.String())
				}
			}
		})
	}
}
