package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/clay-agent/clay-agent/agent/core"
)

// scimType is the scimType of an error response (RFC 7644 §3.12).
type scimType string

const (
	typeNone          scimType = ""
	typeInvalidFilter scimType = "invalidFilter"
	typeTooMany       scimType = "tooMany"
	typeUniqueness    scimType = "uniqueness"
	typeMutability    scimType = "mutability"
	typeInvalidSyntax scimType = "invalidSyntax"
	typeInvalidPath   scimType = "invalidPath"
	typeNoTarget      scimType = "noTarget"
	typeInvalidValue  scimType = "invalidValue"
)

// apiError is an error answered to a SCIM client.
type apiError struct {
	status     int
	scimType   scimType
	detail     string
	retryAfter time.Duration
	err        error
}

func (e *apiError) Error() string {
	if e.scimType != typeNone {
		return fmt.Sprintf("%d %s: %s", e.status, e.scimType, e.detail)
	}
	return fmt.Sprintf("%d: %s", e.status, e.detail)
}

func (e *apiError) Unwrap() error { return e.err }

// errorBody is the SCIM error message (RFC 7644 §3.12).
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType scimType `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

func (e *apiError) body() errorBody {
	return errorBody{Schemas: []string{MessageError}, Status: strconv.Itoa(e.status), ScimType: e.scimType, Detail: e.detail}
}

func newError(status int, t scimType, format string, a ...any) *apiError {
	return &apiError{status: status, scimType: t, detail: fmt.Sprintf(format, a...)}
}

func badRequest(t scimType, format string, a ...any) *apiError {
	return newError(http.StatusBadRequest, t, format, a...)
}

func notFound(format string, a ...any) *apiError {
	return newError(http.StatusNotFound, typeNone, format, a...)
}

// busy is the answer to a request whose action did not finish within
// MutationWait, or whose read waits for a roster read that did not.
func busy(wait time.Duration, format string, a ...any) *apiError {
	e := newError(http.StatusServiceUnavailable, typeNone, format, a...)
	e.retryAfter = max(wait, time.Second)
	return e
}

// Retry-After of failures a retry may cure.
const (
	retryTransient = 30 * time.Second
	retryLogin     = 5 * time.Minute
)

// failure maps a failed action or roster read to its answer:
//
//	refused by a safety rule (core.ErrRefused)   403
//	session needs a new login (ErrLoginRequired)  503, Retry-After 300
//	transient page failure (ErrTransient)         503, Retry-After 30
//	cancelled (the service stops)                 503, Retry-After 30
//	not verified, page changed, page error, other 502
//
// A failed action is the service's problem, never the client's: no 4xx but
// for a refusal, and no 500.
func failure(what string, err error) *apiError {
	e := &apiError{detail: fmt.Sprintf("%s: %v", what, err), err: err}
	switch {
	case errors.Is(err, core.ErrRefused):
		e.status = http.StatusForbidden
	case errors.Is(err, core.ErrLoginRequired):
		e.status, e.retryAfter = http.StatusServiceUnavailable, retryLogin
	case errors.Is(err, core.ErrTransient), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.status, e.retryAfter = http.StatusServiceUnavailable, retryTransient
	default:
		e.status = http.StatusBadGateway
	}
	return e
}

// storeError maps a failure of the state store: 503 while the service
// shuts down, else 500 (the only 500 the service answers).
func storeError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		e := newError(http.StatusServiceUnavailable, typeNone, "the service is shutting down")
		e.retryAfter, e.err = retryTransient, err
		return e
	}
	e := newError(http.StatusInternalServerError, typeNone, "state store: %v", err)
	e.err = err
	return e
}

// errShuttingDown is the answer to requests still waiting when the server
// closes.
func errShuttingDown() *apiError {
	e := newError(http.StatusServiceUnavailable, typeNone, "the service is shutting down; the action resumes when it starts again")
	e.retryAfter = retryTransient
	return e
}
