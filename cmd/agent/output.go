package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// formats accepted by -o.
var outputFormats = []string{"table", "json", "csv"}

func checkFormat(f string, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = outputFormats
	}
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return usageError("unknown output format %q (want %s)", f, strings.Join(allowed, ", "))
}

// isTerminal reports whether v (a stream such as os.Stdin or os.Stdout) is
// a terminal. /dev/null and pipes are not.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// rosterJSON is the documented JSON form of `agent list`.
type rosterJSON struct {
	Workspace   string           `json:"workspace"`
	CapturedAt  string           `json:"captured_at"`
	Members     []memberJSON     `json:"members"`
	Invitations []invitationJSON `json:"invitations"`
}

type memberJSON struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
	You   bool   `json:"you"`
}

type invitationJSON struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func toRosterJSON(r *roster.Roster) rosterJSON {
	out := rosterJSON{
		Workspace:   r.Workspace,
		CapturedAt:  r.CapturedAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
		Members:     make([]memberJSON, 0, len(r.Members)),
		Invitations: make([]invitationJSON, 0, len(r.Invitations)),
	}
	for _, m := range r.Members {
		out.Members = append(out.Members, memberJSON{Name: m.Name, Email: m.Email, Role: string(m.Role), You: m.You})
	}
	for _, i := range r.Invitations {
		out.Invitations = append(out.Invitations, invitationJSON{Email: i.Email, Role: string(i.Role)})
	}
	return out
}

// writeRoster prints a roster as a table, JSON or CSV (RFC 4180).
func writeRoster(w io.Writer, r *roster.Roster, format string) error {
	switch format {
	case "json":
		return writeJSON(w, toRosterJSON(r))
	case "csv":
		cw := csv.NewWriter(w)
		cw.UseCRLF = true
		if err := cw.Write([]string{"type", "name", "email", "role", "you"}); err != nil {
			return err
		}
		for _, m := range r.Members {
			you := "false"
			if m.You {
				you = "true"
			}
			if err := cw.Write([]string{"member", m.Name, m.Email, string(m.Role), you}); err != nil {
				return err
			}
		}
		for _, i := range r.Invitations {
			if err := cw.Write([]string{"invitation", "", i.Email, string(i.Role), "false"}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tEMAIL\tROLE\t")
		for _, m := range r.Members {
			you := ""
			if m.You {
				you = "(you)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(m.Name), m.Email, m.Role, you)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%d members", len(r.Members))
		if len(r.Invitations) == 0 {
			fmt.Fprintln(w, ", no pending invitations")
			return nil
		}
		fmt.Fprintf(w, ", %d pending invitations:\n", len(r.Invitations))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INVITED\tROLE")
		for _, i := range r.Invitations {
			fmt.Fprintf(tw, "%s\t%s\n", i.Email, i.Role)
		}
		return tw.Flush()
	}
}

// oneLine keeps a value on one table line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
