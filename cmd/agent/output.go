package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

// formats accepted by -o.
var outputFormats = []string{"table", "json", "csv"}

// registerCSVRaw adds --csv-raw to a command that offers -o csv.
func registerCSVRaw(cmd *cobra.Command, raw *bool) {
	cmd.Flags().BoolVar(raw, "csv-raw", false,
		"with -o csv, write every cell as read: no ' is put before a cell starting with =, +, -, @, tab or CR, which a spreadsheet would run as a formula")
}

// checkCSVRaw refuses --csv-raw with an output format other than csv.
func checkCSVRaw(raw bool, format string) error {
	if raw && format != "csv" {
		return usageError("--csv-raw applies to -o csv only, not to -o %s", format)
	}
	return nil
}

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
	// Unreadable lists the rows with controls but no readable email; it
	// is always present, empty when every row was read.
	Unreadable []unreadableJSON `json:"unreadable"`
}

type unreadableJSON struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
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
		Unreadable:  make([]unreadableJSON, 0, len(r.Unreadable)),
	}
	for _, u := range r.Unreadable {
		out.Unreadable = append(out.Unreadable, unreadableJSON{Kind: u.Kind, Text: u.Text})
	}
	for _, m := range r.Members {
		out.Members = append(out.Members, memberJSON{Name: m.Name, Email: m.Email, Role: string(m.Role), You: m.You})
	}
	for _, i := range r.Invitations {
		out.Invitations = append(out.Invitations, invitationJSON{Email: i.Email, Role: string(i.Role)})
	}
	return out
}

// writeRoster prints a roster as a table, JSON or CSV (RFC 4180). The
// table shows every value escaped by textsafe.Terminal; JSON keeps the
// exact values; CSV cells that a spreadsheet would read as a formula get a
// leading quote (textsafe.CSVCell), unless csvRaw.
func writeRoster(w io.Writer, r *roster.Roster, format string, csvRaw bool) error {
	switch format {
	case "json":
		return writeJSON(w, toRosterJSON(r))
	case "csv":
		return writeRosterCSV(w, r, csvRaw)
	default:
		return writeRosterTable(w, r)
	}
}

// writeRosterCSV prints a roster as CSV: one record per member, then per
// invitation, then per row that could not be read.
func writeRosterCSV(w io.Writer, r *roster.Roster, raw bool) error {
	cw := &csvWriter{w: csv.NewWriter(w), raw: raw}
	cw.w.UseCRLF = true
	records := [][]string{{"type", "name", "email", "role", "you"}}
	for _, m := range r.Members {
		records = append(records, []string{"member", m.Name, m.Email, string(m.Role), strconv.FormatBool(m.You)})
	}
	for _, i := range r.Invitations {
		records = append(records, []string{"invitation", "", i.Email, string(i.Role), "false"})
	}
	// a row that could not be read keeps its place, with its text as the
	// name and no email
	for _, u := range r.Unreadable {
		records = append(records, []string{"unreadable-" + u.Kind, u.Text, "", "", "false"})
	}
	for _, rec := range records {
		if err := cw.write(rec...); err != nil {
			return err
		}
	}
	cw.w.Flush()
	return cw.w.Error()
}

// writeRosterTable prints a roster for a person: the members, a count,
// the pending invitations and the rows that could not be read.
func writeRosterTable(w io.Writer, r *roster.Roster) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEMAIL\tROLE\t")
	for _, m := range r.Members {
		you := ""
		if m.You {
			you = "(you)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(m.Name), textsafe.Terminal(m.Email), textsafe.Terminal(string(m.Role)), you)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d members", len(r.Members))
	if err := writeInvitationsTable(w, r.Invitations); err != nil {
		return err
	}
	if len(r.Unreadable) > 0 {
		fmt.Fprintf(w, "\n%d rows with controls but no readable email (not counted above):\n", len(r.Unreadable))
		for _, u := range r.Unreadable {
			fmt.Fprintf(w, "UNREADABLE %s  %s\n", textsafe.Terminal(u.Kind), oneLine(u.Text))
		}
	}
	return nil
}

// writeInvitationsTable ends the members' count line with the pending
// invitations' and lists them.
func writeInvitationsTable(w io.Writer, invs []roster.Invitation) error {
	if len(invs) == 0 {
		fmt.Fprintln(w, ", no pending invitations")
		return nil
	}
	fmt.Fprintf(w, ", %d pending invitations:\n", len(invs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INVITED\tROLE")
	for _, i := range invs {
		fmt.Fprintf(tw, "%s\t%s\n", textsafe.Terminal(i.Email), textsafe.Terminal(string(i.Role)))
	}
	return tw.Flush()
}

// csvWriter writes CSV records whose cells are made safe for a
// spreadsheet by textsafe.CSVCell, or kept exactly with raw.
type csvWriter struct {
	w   *csv.Writer
	raw bool
}

// write writes one record.
func (c *csvWriter) write(cells ...string) error {
	if !c.raw {
		for i, v := range cells {
			cells[i] = textsafe.CSVCell(v)
		}
	}
	return c.w.Write(cells)
}

// oneLine makes text from the page, a file or the network safe to show on
// one line of a table or a message: runs of white space (newlines and tabs
// included) become one space, and what remains is escaped by
// textsafe.Terminal.
func oneLine(s string) string {
	return textsafe.Terminal(collapseSpace(s))
}

// collapseSpace trims s and turns each run of white space into one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
