package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestWorkspaceThatIsNoIdExitsTwoBeforeTheBrowser: a workspace that is not
// digits (a path, a name) is bad input for every command that opens the
// Team page, told before any browser starts. (doctor reports it as its
// failed config check.)
func TestWorkspaceThatIsNoIdExitsTwoBeforeTheBrowser(t *testing.T) {
	dir := t.TempDir()
	session := filepath.Join(dir, "no-session.json")
	for _, ws := range []string{"../1234", "acme", "1234/../9"} {
		for _, cmd := range [][]string{
			{"list"},
			{"snapshot", "--dir", dir},
			{"offboard", "--email", "a@acme.test", "--yes"},
			{"invite", "--email", "a@acme.test", "--yes"},
		} {
			t.Run(ws+" "+cmd[0], func(t *testing.T) {
				args := append(append([]string{}, cmd...), "--workspace", ws, "--session", session, "--chrome", "/nonexistent/chrome", "--audit-log", filepath.Join(dir, "audit.jsonl"), "--lock-dir", dir)
				if cmd[0] == "list" || cmd[0] == "snapshot" {
					args = args[:len(args)-4]
				}
				r := runCLI(t, "", args...)
				assert.Equal(t, exitUsage, r.code, r.stderr)
				r.oneErrorLine(t, "is not a Clay workspace id")
				assert.NotContains(t, r.stderr, "/nonexistent/chrome", "no browser was started")
			})
		}
	}
}
