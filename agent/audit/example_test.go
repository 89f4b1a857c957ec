package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/clay-agent/clay-agent/agent/audit"
)

// A run of offboard over three members that is cut short after the first
// one still accounts for every member.
func ExampleLog_Plan() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "audit.jsonl")

	log, err := audit.Open(path, audit.WithActor("ops"), audit.WithWorkspace("1234"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = log.Close() }()

	ctx, cancel := context.WithCancel(context.Background())
	run := log.Plan(ctx, "offboard", []string{"a@x.test", "b@x.test", "c@x.test"})
	_ = run.Done("a@x.test", audit.OutcomeRemoved, "", map[string]any{"member": map[string]string{"role": "Editor"}}, nil)
	_ = run.Done("b@x.test", audit.OutcomeStarted, "", nil, nil)
	cancel() // Ctrl-C
	_ = run.Finish(ctx.Err())

	f, _ := os.Open(path)
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r audit.Record
		_ = json.Unmarshal(sc.Bytes(), &r)
		fmt.Println(strings.TrimRight(fmt.Sprintf("%-14s %-9s %s", r.Outcome, r.Target, r.Detail), " "))
	}
	n, err := audit.VerifyFile(path)
	fmt.Println(n, "records, verified:", err == nil)
	// Output:
	// planned                  3 target(s)
	// removed        a@x.test
	// started        b@x.test
	// interrupted    b@x.test  interrupted: context canceled; the change may or may not have been made, check the current state
	// not-attempted  c@x.test  interrupted: context canceled
	// aborted                  context canceled (1 removed, 1 interrupted, 1 not-attempted)
	// 6 records, verified: true
}

func ExampleVerifyFile() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "audit.jsonl")

	log, _ := audit.Open(path)
	for _, target := range []string{"a@x.test", "b@x.test", "c@x.test"} {
		_, _ = log.Append(audit.Record{Command: "offboard", Target: target, Outcome: audit.OutcomeRemoved})
	}
	_ = log.Close()

	// Drop the second line.
	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	_ = os.WriteFile(path, append(lines[0], lines[2]...), 0o600)

	n, err := audit.VerifyFile(path)
	var verr *audit.VerifyError
	if errors.As(err, &verr) {
		fmt.Println(n, "good line(s); broken at line", verr.Line, "tampered:", errors.Is(err, audit.ErrTampered))
		fmt.Println(verr.Reason)
	}
	// Output:
	// 1 good line(s); broken at line 2 tampered: true
	// prev does not match the SHA-256 of line 1 (a line was edited, removed, inserted or reordered)
}
