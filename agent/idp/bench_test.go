package idp_test

import (
	"fmt"
	"testing"

	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// benchData makes a directory of people accounts, each with an alias, a
// tenth of them inactive, and a roster of members: most of them in the
// directory (some through their alias, in another case), some absent at
// the company domain, some external.
func benchData(people, members int) (*idp.Directory, *roster.Roster) {
	d := &idp.Directory{Source: "bench", Format: idp.FormatOktaAPI, People: make([]idp.Person, people)}
	for i := range d.People {
		p := idp.Person{
			Email:   fmt.Sprintf("person%06d@acme.test", i),
			Aliases: []string{fmt.Sprintf("p.%06d@acme-old.test", i)},
			Name:    fmt.Sprintf("Person %d", i),
			Status:  "ACTIVE",
			Active:  true,
		}
		if i%10 == 0 {
			p.Status, p.Active = "DEPROVISIONED", false
		}
		d.People[i] = p
	}
	r := &roster.Roster{Workspace: "bench"}
	for i := range members {
		var email string
		switch i % 8 {
		case 0:
			email = fmt.Sprintf("absent%06d@acme.test", i)
		case 1:
			email = fmt.Sprintf("guest%06d@partner.test", i)
		case 2:
			email = fmt.Sprintf("P.%06d@ACME-OLD.test", i*7)
		default:
			email = fmt.Sprintf("Person%06d@Acme.Test", i*9)
		}
		r.Members = append(r.Members, roster.Member{Name: fmt.Sprintf("Member %d", i), Email: email, Role: roster.Editor})
	}
	for i := range members / 50 {
		r.Invitations = append(r.Invitations, roster.Invitation{Email: fmt.Sprintf("invitee%04d@acme.test", i), Role: roster.Viewer})
	}
	return d, r
}

// BenchmarkReconcile builds the index of a 50,000-person directory and
// reconciles 5,000 members (and 100 invitations) against it.
func BenchmarkReconcile(b *testing.B) {
	d, r := benchData(50_000, 5_000)
	dirs := []*idp.Directory{d}
	b.ReportAllocs()
	for b.Loop() {
		ix := idp.NewIndex(dirs, nil)
		rep, err := idp.Reconcile(r, ix, []string{"acme.test"})
		if err != nil || len(rep.Findings) != 5_100 {
			b.Fatal(err, len(rep.Findings))
		}
	}
}

// BenchmarkReconcileOnly reconciles 5,000 members against an index built
// once.
func BenchmarkReconcileOnly(b *testing.B) {
	d, r := benchData(50_000, 5_000)
	ix := idp.NewIndex([]*idp.Directory{d}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idp.Reconcile(r, ix, []string{"acme.test"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchDataFindings(t *testing.T) {
	d, r := benchData(1_000, 400)
	rep, err := idp.Reconcile(r, idp.NewIndex([]*idp.Directory{d}, nil), []string{"acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []idp.Finding{idp.FindingActive, idp.FindingInactiveInIdP, idp.FindingNotInIdP, idp.FindingExternal, idp.FindingInvitationNotInIdP} {
		if rep.Count(f) == 0 {
			t.Errorf("no %s row: %v", f, rep.Summary)
		}
	}
}
