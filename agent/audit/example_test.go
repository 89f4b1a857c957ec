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

// A log written with a key catches a record appended without it, which
// the hash chain alone accepts; a head kept earlier catches a record cut
// from the end, which the key alone accepts.
func ExampleVerifyKey() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "audit.jsonl")
	key := []byte("an example key of at least 32 bytes")

	log, _ := audit.Open(path, audit.WithKey(key))
	for _, target := range []string{"a@x.test", "b@x.test"} {
		_, _ = log.Append(audit.Record{Command: "offboard", Target: target, Outcome: audit.OutcomeRemoved})
	}
	_ = log.Close()
	kept, _ := audit.VerifyChainFile(path) // the head, kept elsewhere

	// Someone without the key appends a record with the right prev.
	forged, _ := json.Marshal(audit.Record{Command: "offboard", Target: "c@x.test", Outcome: audit.OutcomeRemoved, Prev: kept.Head})
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.Write(append(forged, '\n'))
	_ = f.Close()

	_, err := audit.VerifyChainFile(path)
	fmt.Println("chain only:", err == nil)
	_, err = audit.VerifyChainFile(path, audit.VerifyKey(key))
	fmt.Println("with the key:", errors.Is(err, audit.ErrMAC))

	// Someone cuts the last two lines.
	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	_ = os.WriteFile(path, lines[0], 0o600)
	_, err = audit.VerifyChainFile(path, audit.VerifyKey(key))
	fmt.Println("cut, with the key:", err == nil)
	_, err = audit.VerifyChainFile(path, audit.VerifyKey(key), audit.VerifyAnchor(kept.Head))
	fmt.Println("cut, with the kept head:", errors.Is(err, audit.ErrHeadNotFound))
	// Output:
	// chain only: true
	// with the key: true
	// cut, with the key: true
	// cut, with the kept head: true
}
