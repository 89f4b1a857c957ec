package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrTampered is wrapped by every error that reports a log failing
// verification: a line that does not parse, a prev that does not match
// the line before it, a missing or wrong MAC, an anchor not found.
var ErrTampered = errors.New("audit log failed verification")

// ErrTorn is wrapped, along with ErrTampered, when a line is an incomplete
// record, as a write cut short by a crash leaves it, and no recovered
// record seals it.
var ErrTorn = errors.New("incomplete record")

// ErrMAC is wrapped, along with ErrTampered, when verifying with a key
// finds a MAC that does not match, a record without a MAC where one is
// required, or a log that does not end with a keyed record.
var ErrMAC = errors.New("record MAC missing or invalid")

// ErrHeadNotFound is wrapped, along with ErrTampered, when the anchor given
// with VerifyAnchor is not the chain hash of any line of the log: lines up
// to the anchored one were removed or rewritten, or the anchor belongs to
// another log.
var ErrHeadNotFound = errors.New("head not found in the chain")

// VerifyError says which line of a log failed verification and why. It
// wraps ErrTampered, and Cause when set.
type VerifyError struct {
	// Line is the 1-based line number, or 0 when the failure is about the
	// log as a whole (an empty keyed log, an anchor not found).
	Line int
	// Reason says what is wrong.
	Reason string
	// Cause is the kind of failure when it has one: ErrTorn, ErrMAC or
	// ErrHeadNotFound.
	Cause error
}

func (e *VerifyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%v: %s", ErrTampered, e.Reason)
	}
	return fmt.Sprintf("%v: line %d: %s", ErrTampered, e.Line, e.Reason)
}

// Unwrap returns ErrTampered, and Cause when set.
func (e *VerifyError) Unwrap() []error {
	if e.Cause != nil {
		return []error{ErrTampered, e.Cause}
	}
	return []error{ErrTampered}
}

// Summary describes a verified log, or on failure the part of it that
// verified.
type Summary struct {
	// Lines is the number of lines that verified: records, and torn lines
	// sealed by a recovered record.
	Lines int
	// Head is the chain hash of the last line that verified (Genesis for
	// an empty log): the prev the next record will carry. Keep it
	// elsewhere to detect later truncation or rewriting of the log.
	Head string
	// Sealed counts the torn lines that a recovered record seals.
	Sealed int
	// MACs counts the records that carry a MAC, checked or not.
	MACs int
	// MACsChecked is set when the MACs were checked with a key.
	MACsChecked bool
	// FirstMAC is the line of the first record that carries a MAC, or 0.
	FirstMAC int
	// AnchorFound is set when the anchor given with VerifyAnchor is the
	// chain hash of line AnchorLine (0 for Genesis, the empty log).
	AnchorFound bool
	// AnchorLine is the line whose chain hash is the anchor.
	AnchorLine int
}

// VerifyOption configures VerifyChain.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	key    []byte
	anchor string
	visit  func(rec Record, macChecked bool)
}

// VerifyVisit calls fn with each record that verified, in order, and
// whether its MAC was checked with the key of VerifyKey. A record seen
// before a failure verified; the failure still fails VerifyChain.
func VerifyVisit(fn func(rec Record, macChecked bool)) VerifyOption {
	return func(c *verifyConfig) { c.visit = fn }
}

// VerifyKey checks the MACs of the records with key, with the rules of the
// package documentation. A nil key checks nothing.
func VerifyKey(key []byte) VerifyOption {
	return func(c *verifyConfig) { c.key = bytes.Clone(key) }
}

// VerifyAnchor requires head, a chain hash kept earlier, to be the chain
// hash of a line of the log (or Genesis): nothing up to that line was
// removed or rewritten since. Summary.AnchorLine says which line it is.
func VerifyAnchor(head string) VerifyOption {
	return func(c *verifyConfig) { c.anchor = strings.ToLower(head) }
}

// Verify checks a log read from r: every line must be a JSON record whose
// prev is the SHA-256 of the line before it (Genesis, or empty, on the
// first line), except torn lines sealed by a recovered record. It returns
// the number of lines that verified. On the first failure it stops and
// returns a *VerifyError, which wraps ErrTampered and names the line.
func Verify(r io.Reader) (n int, err error) {
	s, err := VerifyChain(r)
	return s.Lines, err
}

// VerifyFile is Verify for the file at path.
func VerifyFile(path string) (n int, err error) {
	s, err := VerifyChainFile(path)
	return s.Lines, err
}

// VerifyChainFile is VerifyChain for the file at path. Its errors name the
// path.
func VerifyChainFile(path string, opts ...VerifyOption) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{Head: Genesis}, fmt.Errorf("audit: verify %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	s, err := VerifyChain(f, opts...)
	if err != nil {
		return s, fmt.Errorf("audit: verify %s: %w", path, err)
	}
	return s, nil
}

// VerifyChain is Verify returning a Summary with the head hash, checking
// MACs (VerifyKey) and an anchor (VerifyAnchor) when asked to. On
// failure, Summary describes the lines that verified.
func VerifyChain(r io.Reader, opts ...VerifyOption) (Summary, error) {
	v := verifier{s: Summary{Head: Genesis}}
	for _, opt := range opts {
		opt(&v.cfg)
	}
	v.s.MACsChecked = v.cfg.key != nil
	v.noteAnchor()
	br := bufio.NewReaderSize(r, 64*1024)
	for lineNo := 1; ; lineNo++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return v.s, v.end()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return v.s, fmt.Errorf("audit: read line %d: %w", lineNo, err)
		}
		terminated := bytes.HasSuffix(raw, []byte{'\n'})
		line := bytes.TrimSuffix(raw, []byte{'\n'})
		if verr := v.line(line, lineNo, terminated); verr != nil {
			return v.s, verr
		}
	}
}

// verifier is the state of one VerifyChain.
type verifier struct {
	cfg verifyConfig
	s   Summary
	// torn is the failure of a line that is not a record, held until the
	// next line shows whether a recovered record seals it.
	torn     *VerifyError
	tornHash string
	// lastMAC is set when the last record carries a MAC that was checked.
	lastMAC bool
}

// line checks one line.
func (v *verifier) line(line []byte, lineNo int, terminated bool) *VerifyError {
	wantPrev := v.s.Head
	if v.torn != nil {
		wantPrev = v.tornHash
	}
	rec, verr := checkLine(line, lineNo, wantPrev, terminated)
	if v.torn != nil {
		if verr != nil || rec.Outcome != OutcomeRecovered {
			return v.torn
		}
		// The recovered record seals the torn line.
		v.accept(v.tornHash)
		v.s.Sealed++
		v.torn = nil
	}
	if verr != nil {
		if verr.sealable {
			v.torn, v.tornHash = verr.VerifyError, hashLine(line)
			return nil
		}
		return verr.VerifyError
	}
	if rec.MAC != "" {
		v.s.MACs++
		if v.s.FirstMAC == 0 {
			v.s.FirstMAC = lineNo
		}
	}
	if v.cfg.key != nil {
		if verr := v.checkMAC(line, lineNo, rec); verr != nil {
			return verr
		}
	}
	v.accept(hashLine(line))
	if v.cfg.visit != nil {
		v.cfg.visit(rec, v.cfg.key != nil && rec.MAC != "")
	}
	return nil
}

// checkMAC applies the MAC rules to a record that otherwise verified.
func (v *verifier) checkMAC(line []byte, lineNo int, rec Record) *VerifyError {
	if rec.MAC == "" {
		if v.s.FirstMAC != 0 {
			return &VerifyError{Line: lineNo, Cause: ErrMAC, Reason: fmt.Sprintf(
				"the record carries no MAC, but the records from line %d on do: it was written without the key", v.s.FirstMAC)}
		}
		v.lastMAC = false
		return nil
	}
	if err := checkMAC(line, rec.MAC, v.cfg.key); err != nil {
		return &VerifyError{Line: lineNo, Cause: ErrMAC, Reason: err.Error()}
	}
	v.lastMAC = true
	return nil
}

// accept counts a line that verified, with its chain hash.
func (v *verifier) accept(hash string) {
	v.s.Lines++
	v.s.Head = hash
	v.noteAnchor()
}

// noteAnchor records the anchor when the head reaches it.
func (v *verifier) noteAnchor() {
	if v.cfg.anchor != "" && !v.s.AnchorFound && v.s.Head == v.cfg.anchor {
		v.s.AnchorFound = true
		v.s.AnchorLine = v.s.Lines
	}
}

// end checks what can only be checked once every line has been read.
func (v *verifier) end() error {
	if v.torn != nil {
		return v.torn
	}
	if v.cfg.key != nil && !v.lastMAC {
		reason := "no record carries a MAC: with a key, the log must end with a keyed record (it was written, or rewritten, without the key)"
		if v.s.Lines == 0 {
			reason = "the log is empty: with a key, it must hold at least one keyed record"
		}
		return &VerifyError{Line: v.s.Lines, Cause: ErrMAC, Reason: reason}
	}
	if v.cfg.anchor != "" && !v.s.AnchorFound {
		return &VerifyError{Cause: ErrHeadNotFound, Reason: fmt.Sprintf(
			"head %s is not the chain hash of any of the %d line(s): lines up to it were removed or rewritten, or it belongs to another log",
			v.cfg.anchor, v.s.Lines)}
	}
	return nil
}

// lineError is a VerifyError that knows whether a recovered record may
// seal the line.
type lineError struct {
	*VerifyError
	// sealable is set for a line that is not a record at all.
	sealable bool
}

// checkLine parses one line and checks it against the hash of the line
// before it.
func checkLine(line []byte, lineNo int, wantPrev string, terminated bool) (Record, *lineError) {
	fail := func(reason string) (Record, *lineError) {
		return Record{}, &lineError{VerifyError: &VerifyError{Line: lineNo, Reason: reason}}
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return fail("empty line")
	}
	rec, err := decodeRecord(line)
	switch {
	case errors.Is(err, errTrailingData):
		return fail("unexpected data after the record")
	case errors.Is(err, io.ErrUnexpectedEOF) && line[0] == '{':
		reason := "incomplete record (a write was cut short) and no recovered record after it"
		if !terminated {
			reason = "incomplete record at the end of the log (a write was cut short)"
		}
		return Record{}, &lineError{VerifyError: &VerifyError{Line: lineNo, Reason: reason, Cause: ErrTorn}, sealable: true}
	case err != nil:
		r, le := fail(fmt.Sprintf("not a valid record: %v", err))
		le.sealable = true
		return r, le
	}
	switch {
	case lineNo == 1 && (rec.Prev == Genesis || rec.Prev == ""):
		return rec, nil
	case lineNo == 1 && isHexDigest(rec.Prev):
		return fail("the first line chains to a line that is not in the log (lines were removed from the start)")
	case !isHexDigest(rec.Prev):
		return fail(fmt.Sprintf("prev %q is not a SHA-256 hex digest", rec.Prev))
	case rec.Prev != wantPrev:
		return fail(fmt.Sprintf("prev does not match the SHA-256 of line %d (a line was edited, removed, inserted or reordered)", lineNo-1))
	}
	return rec, nil
}
