package idp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Every error the package returns wraps at least one of
// them; check with errors.Is.
var (
	// ErrBadSource marks a source that cannot be used as given: an
	// unreadable file, a header or shape the package does not recognise, a
	// CSV without an email column, a source with no people, conflicting
	// duplicate rows, a malformed source spec or missing credentials. The
	// CLI reports it on one line with exit code 2.
	ErrBadSource = errors.New("bad identity source")
	// ErrBadOption marks a bad option value: a column mapping, a domain,
	// a domain alias. The CLI reports it with exit code 2 as well.
	ErrBadOption = errors.New("bad identity option")
	// ErrAuth means a live directory refused the credentials (HTTP 401 or
	// 403, or a refused token request). Its message never holds a secret.
	ErrAuth = errors.New("identity provider refused the credentials")
	// ErrIncomplete means a directory could not be read whole: a live
	// download failed on some page after its retries, was cancelled, or a
	// saved page says more pages follow. No directory is returned with it,
	// so that nobody active is ever reported absent.
	ErrIncomplete = errors.New("identity directory incomplete")
)

// HTTPError is a response a live directory answered with an error status.
// Find it with errors.As; errors.Is(err, ErrAuth) holds for 401 and 403.
type HTTPError struct {
	// Code is the HTTP status code.
	Code int
	// Message is the vendor's summary of the error (Okta's errorSummary,
	// Graph's error.message, the token endpoint's error code), when the
	// body had one.
	Message string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is makes errors.Is(err, ErrAuth) true for 401 Unauthorized and 403
// Forbidden.
func (e *HTTPError) Is(target error) bool {
	return target == ErrAuth && (e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden)
}

// redactedError carries an error whose message had secrets in it: msg is
// the message without them, and Unwrap still reaches the original for
// errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scrub returns err with every secret (of four bytes or more) replaced by
// "…" in its message. A nil err stays nil; an err whose message holds no
// secret comes back as it is.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	out := msg
	for _, s := range secrets {
		if len(s) >= 4 {
			out = strings.ReplaceAll(out, s, "…")
		}
	}
	if out == msg {
		return err
	}
	return &redactedError{msg: out, err: err}
}

// markedError is an error that also matches a sentinel, without the
// sentinel's text in its message.
type markedError struct {
	err      error
	sentinel error
}

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.err, e.sentinel} }

// mark makes errors.Is(err, sentinel) hold and leaves err's message as
// it is.
func mark(err, sentinel error) error {
	if err == nil || errors.Is(err, sentinel) {
		return err
	}
	return &markedError{err: err, sentinel: sentinel}
}

// liveError is the error of a live download that failed: it wraps
// ErrIncomplete, and leads with ErrAuth when the credentials were refused
// (hint then says where they came from). Every secret is taken out of its
// message.
func liveError(src, what string, err error, hint string, secrets ...string) error {
	if errors.Is(err, ErrAuth) {
		err = mark(fmt.Errorf("%w: %s: %s: %w (%s)", ErrAuth, src, what, err, hint), ErrIncomplete)
	} else {
		err = fmt.Errorf("%w: %s: %s: %w", ErrIncomplete, src, what, err)
	}
	return scrub(err, secrets...)
}
