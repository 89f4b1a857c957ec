package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTampered is wrapped by every error that reports a log failing
// verification: a line that does not parse, or a prev that does not match
// the line before it.
var ErrTampered = errors.New("audit log failed verification")

// ErrTorn is wrapped, along with ErrTampered, when a line is an incomplete
// record, as a write cut short by a crash leaves it.
var ErrTorn = errors.New("incomplete record")

// VerifyError says which line of a log failed verification and why. It
// wraps ErrTampered, and ErrTorn for an incomplete record.
type VerifyError struct {
	// Line is the 1-based line number.
	Line int
	// Reason says what is wrong with the line.
	Reason string
	// Torn is set when the line is an incomplete record.
	Torn bool
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("%v: line %d: %s", ErrTampered, e.Line, e.Reason)
}

// Unwrap returns ErrTampered, and ErrTorn when the line is torn.
func (e *VerifyError) Unwrap() []error {
	if e.Torn {
		return []error{ErrTampered, ErrTorn}
	}
	return []error{ErrTampered}
}

// Summary describes a log that verified.
type Summary struct {
	// Lines is the number of records checked.
	Lines int
	// Head is the chain hash of the last line (Genesis for an empty log):
	// the prev the next record will carry. Keep it elsewhere to detect
	// later truncation or rewriting of the log.
	Head string
}

// Verify checks a log read from r: every line must be a JSON record whose
// prev is the SHA-256 of the line before it (Genesis, or empty, on the
// first line). It returns the number of lines that verified. On the first
// failure it stops and returns a *VerifyError, which wraps ErrTampered and
// names the line.
func Verify(r io.Reader) (n int, err error) {
	s, err := VerifyChain(r)
	return s.Lines, err
}

// VerifyFile is Verify for the file at path.
func VerifyFile(path string) (n int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("audit: verify %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	n, err = Verify(f)
	if err != nil {
		return n, fmt.Errorf("audit: verify %s: %w", path, err)
	}
	return n, nil
}

// VerifyChain is Verify returning a Summary with the head hash. On
// failure, Summary.Lines counts the lines that verified and Summary.Head
// is the hash of the last of them.
func VerifyChain(r io.Reader) (Summary, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	s := Summary{Head: Genesis}
	for lineNo := 1; ; lineNo++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return s, fmt.Errorf("audit: read line %d: %w", lineNo, err)
		}
		terminated := bytes.HasSuffix(raw, []byte{'\n'})
		line := bytes.TrimSuffix(raw, []byte{'\n'})
		if verr := checkLine(line, lineNo, s.Head, terminated); verr != nil {
			return s, verr
		}
		s.Lines++
		s.Head = hashLine(line)
	}
}

// checkLine verifies one line against the hash of the line before it.
func checkLine(line []byte, lineNo int, wantPrev string, terminated bool) *VerifyError {
	if len(bytes.TrimSpace(line)) == 0 {
		return &VerifyError{Line: lineNo, Reason: "empty line"}
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&rec); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) && line[0] == '{' {
			reason := "incomplete record (a write was cut short)"
			if !terminated {
				reason = "incomplete record at the end of the log (a write was cut short)"
			}
			return &VerifyError{Line: lineNo, Reason: reason, Torn: true}
		}
		return &VerifyError{Line: lineNo, Reason: fmt.Sprintf("not a valid record: %v", err)}
	}
	if dec.More() {
		return &VerifyError{Line: lineNo, Reason: "unexpected data after the record"}
	}
	switch {
	case lineNo == 1 && (rec.Prev == Genesis || rec.Prev == ""):
		return nil
	case lineNo == 1 && isHexDigest(rec.Prev):
		return &VerifyError{Line: lineNo, Reason: "the first line chains to a line that is not in the log (lines were removed from the start)"}
	case !isHexDigest(rec.Prev):
		return &VerifyError{Line: lineNo, Reason: fmt.Sprintf("prev %q is not a SHA-256 hex digest", rec.Prev)}
	case rec.Prev != wantPrev:
		return &VerifyError{Line: lineNo, Reason: fmt.Sprintf("prev does not match the SHA-256 of line %d (a line was edited, removed, inserted or reordered)", lineNo-1)}
	}
	return nil
}
