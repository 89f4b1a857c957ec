package scim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// Request identifies the SCIM request an action serves, for the audit log.
type Request struct {
	ID     string
	Client string
}

// Backend performs actions on the workspace. The service calls it from ONE
// worker goroutine, one call at a time.
type Backend interface {
	// Roster reads every member and pending invitation (a complete scan).
	Roster(ctx context.Context) (*roster.Roster, error)
	Invite(ctx context.Context, req Request, email string, role roster.Role) (core.Result, error)
	// Offboard removes the member and revokes a pending invitation for
	// email, verified.
	Offboard(ctx context.Context, req Request, email string) (core.Result, error)
	// SetRole changes the role of the member email; a pending
	// invitation's role cannot be changed in place (see Revoke).
	SetRole(ctx context.Context, req Request, email string, role roster.Role) (core.Result, error)
	// Revoke revokes the pending invitation of email, verified, and
	// leaves a member alone (already-absent). The service calls it to
	// change the role of an invitation, which it then invites again: it
	// does not count against MaxRemovalsPerHour.
	Revoke(ctx context.Context, req Request, email string) (core.Result, error)
}

// EmailSource says which address of a SCIM user is the one invited to
// Clay.
type EmailSource int

// The sources of the Clay address.
const (
	// EmailWork takes the primary work email, else the primary email,
	// else the first work email, else userName when it is an address.
	EmailWork EmailSource = iota
	// EmailUserName takes userName, which must be an address.
	EmailUserName
)

// String names the source as a flag would.
func (e EmailSource) String() string {
	switch e {
	case EmailWork:
		return "work"
	case EmailUserName:
		return "username"
	}
	return fmt.Sprintf("EmailSource(%d)", int(e))
}

// ConflictMode says how POST /Users answers for a user who is already a
// member or has a pending invitation.
type ConflictMode int

// The conflict modes.
const (
	// ConflictError answers 409 with scimType uniqueness.
	ConflictError ConflictMode = iota
	// ConflictReturnExisting answers 200 with the existing resource,
	// which takes the request's attributes, when its externalId is unset
	// or the same as the request's; otherwise (another client's user
	// holds the address) it answers 409 as well.
	ConflictReturnExisting
)

// String names the mode as a flag would.
func (c ConflictMode) String() string {
	switch c {
	case ConflictError:
		return "error"
	case ConflictReturnExisting:
		return "return-existing"
	}
	return fmt.Sprintf("ConflictMode(%d)", int(c))
}

// Defaults of Config.
const (
	DefaultMaxRosterAge       = 60 * time.Second
	DefaultMutationWait       = 25 * time.Second
	DefaultMaxBody            = 1 << 20
	DefaultRatePerClient      = 20
	DefaultBurst              = 40
	DefaultMaxRemovalsPerHour = 10
	DefaultStuckAfter         = 10 * time.Minute
	DefaultRequestLogMaxBytes = 64 << 20
)

// Config configures a Server. Zero values take the defaults named below.
type Config struct {
	// Backend performs the actions; required.
	Backend Backend
	// StatePath is the bbolt file holding users, the job queue and the
	// request log; required. It is created on first start, in a
	// directory of mode 0700 when the directory is new, with mode 0600.
	StatePath string
	// Token is the bearer token clients must send; required. It is
	// compared in constant time and never logged.
	Token []byte
	// Workspace names the Clay workspace, for logs and /healthz.
	Workspace string
	// BaseURL prefixes meta.location, e.g. "https://scim.example.com";
	// empty derives it from each request (Host, TLS or
	// X-Forwarded-Proto).
	BaseURL string
	// MaxRosterAge is how old the kept roster may be when a read is
	// answered from it (default 60s). An older roster is read again
	// through the worker before the answer.
	MaxRosterAge time.Duration
	// MutationWait is how long a request waits for its action (default
	// 25s). Past it the answer is 503 with Retry-After, and the action
	// goes on.
	MutationWait time.Duration
	// MaxBody is the largest request body accepted (default 1 MiB);
	// larger ones get 413.
	MaxBody int64
	// RatePerClient and Burst limit the requests of each client (default
	// 20 per second, bursts of 40); more get 429 with Retry-After.
	RatePerClient float64
	Burst         int
	// DefaultRole is the role of invited users who ask for none, and of
	// users removed from their role's group (default Editor).
	DefaultRole roster.Role
	// EmailFrom says which address to invite (default EmailWork).
	EmailFrom EmailSource
	// Existing says how POST answers for a user already in the workspace
	// (default ConflictError).
	Existing ConflictMode
	// MaxRemovalsPerHour is the circuit breaker (default 10): once that
	// many removals happened within the last hour, further deprovisioning
	// is refused with 503 until the window slides. Reads, invitations and
	// role changes go on.
	MaxRemovalsPerHour int
	// OnTrip is called once each time the breaker opens, with the reason.
	OnTrip func(reason string)
	// DryRun answers as if acted but only logs: the backend is never
	// called for a mutation (it is still called to read the roster).
	DryRun bool
	// Logger receives the service's log; nil logs nothing.
	Logger *zap.Logger
	// Registry receives the metrics; nil keeps them on a private one.
	Registry *prometheus.Registry
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// StuckAfter is how long one action or roster read may run before
	// /healthz reports the worker stuck (default 10 minutes).
	StuckAfter time.Duration
	// RequestLogMaxBytes caps the request log in the store (default 64
	// MiB): past it, the oldest entries go first. Only requests that
	// showed the token are logged.
	RequestLogMaxBytes int64
	// RoleMap maps the app roles a client sends in a user's roles
	// attribute (Microsoft Entra's, by value or display, ignoring case) to
	// Clay roles. When set, a POST, PUT or PATCH that sets roles sets the
	// Clay role: the primary role's, else the one role they all map to; a
	// role the map does not name is 400 invalidValue. When empty, roles
	// are kept as attributes and not acted on.
	RoleMap map[string]roster.Role

	// roleNames lists RoleMap's app roles as given, for error details.
	roleNames string
}

// ErrAlreadyRunning is returned by Run when the worker is already running.
var ErrAlreadyRunning = errors.New("scim: the worker is already running")

// ErrClosed is returned by Run when the server was closed.
var ErrClosed = errors.New("scim: server closed")

// withDefaults checks c and fills in the defaults. Errors wrap
// core.ErrUsage.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: scim: %s", core.ErrUsage, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Backend == nil:
		return bad("no backend")
	case c.StatePath == "":
		return bad("no state path")
	case len(c.Token) == 0:
		return bad("no bearer token")
	case c.MaxRosterAge < 0, c.MutationWait < 0, c.MaxBody < 0, c.StuckAfter < 0, c.RequestLogMaxBytes < 0:
		return bad("negative duration or size")
	case c.RatePerClient < 0 || c.Burst < 0:
		return bad("negative rate limit")
	case c.MaxRemovalsPerHour < 0:
		return bad("negative MaxRemovalsPerHour; the breaker cannot be turned off")
	case c.EmailFrom != EmailWork && c.EmailFrom != EmailUserName:
		return bad("unknown email source %v", c.EmailFrom)
	case c.Existing != ConflictError && c.Existing != ConflictReturnExisting:
		return bad("unknown conflict mode %v", c.Existing)
	}
	if c.MaxRosterAge == 0 {
		c.MaxRosterAge = DefaultMaxRosterAge
	}
	if c.MutationWait == 0 {
		c.MutationWait = DefaultMutationWait
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.RequestLogMaxBytes == 0 {
		c.RequestLogMaxBytes = DefaultRequestLogMaxBytes
	}
	if c.RatePerClient == 0 {
		c.RatePerClient = DefaultRatePerClient
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxRemovalsPerHour == 0 {
		c.MaxRemovalsPerHour = DefaultMaxRemovalsPerHour
	}
	if c.StuckAfter == 0 {
		c.StuckAfter = DefaultStuckAfter
	}
	if c.DefaultRole == "" {
		c.DefaultRole = roster.Editor
	}
	role, err := roster.ParseRole(string(c.DefaultRole))
	if err != nil {
		return bad("default role: %v", err)
	}
	c.DefaultRole = role
	if c.RoleMap, c.roleNames, err = normalizeRoleMap(c.RoleMap); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
