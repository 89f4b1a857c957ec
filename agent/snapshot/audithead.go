package snapshot

import "fmt"

// AuditHead is the state of the audit log published with a snapshot: the
// head of its hash chain and its record count, or why they could not be
// read. Kept outside the log's reach (a chat channel, a monitoring
// system), a head lets `agent audit verify --head` prove later that
// nothing up to it was removed or rewritten.
type AuditHead struct {
	// Log is the audit log's path.
	Log string `json:"log"`
	// Head is the chain hash of the log's last line; empty when Error is
	// set.
	Head string `json:"head,omitempty"`
	// Records is the number of lines of the chain (a sealed torn line
	// counts as one); 0 when Error is set.
	Records int `json:"records"`
	// Error says why the log could not be read or did not verify.
	Error string `json:"error,omitempty"`
}

// Text is the head in one sentence, e.g. "Audit log: 214 records, head
// 5f0c….", or the reason it is missing. A nil h gives "".
func (h *AuditHead) Text() string {
	switch {
	case h == nil:
		return ""
	case h.Error != "":
		return fmt.Sprintf("Audit log: not verified: %s.", h.Error)
	}
	return fmt.Sprintf("Audit log: %d records, head %s.", h.Records, h.Head)
}
