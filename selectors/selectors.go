// Package selectors is everything the agent knows about the Team page's
// markup. The hooks of the contract (docs/page-contract.md) are resolved
// by one embedded page script, page.js, installed once per document, which
// answers each question in a single round trip: the rows with their name,
// email, role and status, read by a complete scan of the list; or where to
// click a control of a described row, checked when the click happens.
//
// The package never clicks: it tells package flows where to click and
// arms a guard in the page that stops a click landing anywhere else. A
// change of markup on Clay's side is a change in this package only.
package selectors

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
)

//go:embed page.js
var pageJS string

// Version identifies the page script: a digest of its source.
var Version = func() string {
	sum := sha256.Sum256([]byte(pageJS))
	return hex.EncodeToString(sum[:6])
}()

// Script is the page script with its version stamped in. Evaluating it
// defines window.__clayAgent once per document; it evaluates to true.
var Script = strings.Replace(pageJS, "__VERSION__", Version, 1) + "\ntrue;"

// missing is the answer of a call in a document without the script.
var missing = []byte(`{"__clayAgentMissing":true}`)

// Evaluator runs one expression in the page and decodes its JSON answer.
// *agent.Browser implements it.
type Evaluator interface {
	Eval(ctx context.Context, name string, d time.Duration, expr string, out any) error
}

// Installer is an Evaluator that can run a script in every new document.
// *agent.Browser implements it.
type Installer interface {
	AddInitScript(ctx context.Context, name, src string) error
}

// Install makes the page script part of every document ev loads from now
// on. Evaluators that cannot do so get it injected by the first call that
// finds it missing.
func Install(ctx context.Context, ev Evaluator) error {
	if in, ok := ev.(Installer); ok {
		return in.AddInitScript(ctx, "the page script", Script)
	}
	return nil
}

// Kind is the kind of a row.
type Kind string

// The kinds of rows.
const (
	Member     Kind = "member"
	Invitation Kind = "invitation"
)

// Control is a control of a row.
type Control string

// The controls of a row.
const (
	// Remove is the trash (remove or revoke) control. In a row whose
	// remove control sits in an actions menu, pointing at Remove answers
	// with the menu's button (Point.Menu).
	Remove Control = "remove"
	// Role is the role dropdown.
	Role Control = "role"
	// Menu is a row's actions menu button.
	Menu Control = "menu"
)

// Locator describes a row: its kind and its email. It is resolved again
// among the rendered rows every time it is used; it never holds an element.
type Locator struct {
	Kind  Kind
	Email string
}

// MemberRow and InvitationRow build locators.
func MemberRow(email string) Locator     { return Locator{Kind: Member, Email: email} }
func InvitationRow(email string) Locator { return Locator{Kind: Invitation, Email: email} }

func (l Locator) String() string { return "the " + string(l.Kind) + " row of " + l.Email }

// ErrorKind says why the page script refused.
type ErrorKind string

// The page script's refusals.
const (
	// ErrorContract: a control or row could not be identified by its hooks.
	ErrorContract ErrorKind = "contract"
	// ErrorAmbiguous: more than one element matches.
	ErrorAmbiguous ErrorKind = "ambiguous"
	// ErrorTimeout: the page did not react within the step timeout.
	ErrorTimeout ErrorKind = "timeout"
	// ErrorStale: the element was re-rendered away while it was used.
	ErrorStale ErrorKind = "stale"
	// ErrorCovered: something else sits over the control.
	ErrorCovered ErrorKind = "covered"
	// ErrorRefused: the page disables the control.
	ErrorRefused ErrorKind = "refused"
	// ErrorIncomplete: a scan cannot account for every row the page
	// states (a count that does not match, a skipped page).
	ErrorIncomplete ErrorKind = "incomplete"
	// ErrorCannotRewind: the list is past its start and offers no way
	// back to it.
	ErrorCannotRewind ErrorKind = "cannot-rewind"
	// ErrorUnreadable: a complete scan did not find the row, but the page
	// shows rows with controls and no readable email that could be it.
	ErrorUnreadable ErrorKind = "unreadable"
)

// Error is a page script's refusal: a control or row that could not be
// identified by its hooks, an ambiguous match, a timeout inside the page,
// a scan that could not prove itself complete.
type Error struct {
	Kind ErrorKind `json:"kind"`
	// Control names what was looked for, e.g. "the remove (trash) control".
	Control string `json:"control"`
	// Message says what was wrong.
	Message string `json:"message"`
	// Page is the page's URL.
	Page string `json:"-"`
}

func (e *Error) Error() string {
	s := e.Control
	if s == "" {
		s = "the page"
	}
	msg := fmt.Sprintf("%s: %s", s, e.Message)
	if e.Page != "" {
		msg += " (on " + agent.RedactURL(e.Page) + ")"
	}
	return msg
}

// Unwrap maps the kind to the runtime's sentinel errors.
func (e *Error) Unwrap() error {
	switch e.Kind {
	case ErrorContract, ErrorAmbiguous:
		return agent.ErrPageChanged
	case ErrorRefused:
		return agent.ErrRefused
	case ErrorStale, ErrorCovered:
		return agent.ErrTransient
	case ErrorTimeout:
		return agent.ErrStepTimeout
	case ErrorIncomplete, ErrorCannotRewind, ErrorUnreadable:
		return agent.ErrNotVerified
	}
	return nil
}

// PageInfo is what an answer says about the page.
type PageInfo struct {
	URL     string `json:"url"`
	Title   string `json:"title"`
	Login   bool   `json:"login"`
	Busy    bool   `json:"busy"`
	Heading string `json:"heading"`
}

// Row is one member or invitation row as the page shows it.
type Row struct {
	Kind           Kind   `json:"kind"`
	Email          string `json:"email"`
	Name           string `json:"name"`
	Role           string `json:"role"`
	You            bool   `json:"you"`
	Status         string `json:"status"`
	Section        string `json:"section"`
	RoleControl    string `json:"roleControl"` // select, popup or ""
	RoleDisabled   bool   `json:"roleDisabled"`
	RemoveControls int    `json:"removeControls"`
	RemoveDisabled bool   `json:"removeDisabled"`
	ActionsMenu    bool   `json:"actionsMenu"`
}

// LoginError is returned when the page shows a login form instead of the
// Team page. It wraps agent.ErrLoginRequired.
type LoginError struct{ URL string }

func (e *LoginError) Error() string {
	return fmt.Sprintf("the Team page redirected to a login page (%s): run `agent login` or refresh the session file", agent.RedactURL(e.URL))
}

// Unwrap returns agent.ErrLoginRequired.
func (e *LoginError) Unwrap() error { return agent.ErrLoginRequired }

// Options bound the page script's own waits.
type Options struct {
	// Step bounds each wait inside the page (a scroll, a click's effect).
	Step time.Duration
	// Total bounds the whole call from Go's side.
	Total time.Duration
}

func (o Options) js() map[string]int64 {
	return map[string]int64{"stepTimeoutMs": o.Step.Milliseconds(), "readyTimeoutMs": o.Step.Milliseconds()}
}

// envelope is what every answer may carry besides its own fields.
type envelope struct {
	Info  *PageInfo `json:"info"`
	Error *Error    `json:"error"`
}

// expr builds the expression that calls fn with args, or answers
// {"__clayAgentMissing":true} in a document without this version of the
// script.
func expr(fn string, args []any) string {
	enc := make([]string, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			panic(fmt.Sprintf("selectors: argument %d of %s: %v", i, fn, err))
		}
		enc[i] = string(b)
	}
	return `(function(){var a=window.__clayAgent;if(!a||a.version!=="` + Version + `")return {"__clayAgentMissing":true};return a.` +
		fn + "(" + strings.Join(enc, ",") + ");})()"
}

// call runs the page script's fn and decodes its answer into a new T. A
// document without the script gets it injected, once, and the call is made
// again. A login page in place of the Team page is a *LoginError; a refusal
// of the script is an *Error naming the page.
func call[T any](ctx context.Context, ev Evaluator, step string, d time.Duration, fn string, args ...any) (*T, error) {
	e := expr(fn, args)
	var raw json.RawMessage
	if err := ev.Eval(ctx, step, d, e, &raw); err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(raw), missing) {
		if err := ev.Eval(ctx, "injecting the page script", 0, Script, nil); err != nil {
			return nil, err
		}
		raw = nil
		if err := ev.Eval(ctx, step, d, e, &raw); err != nil {
			return nil, err
		}
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("%s: decoding the page script's answer: %w", step, err)
	}
	var env envelope
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &env); err != nil {
			return nil, fmt.Errorf("%s: decoding the page script's answer: %w", step, err)
		}
	}
	if env.Info != nil && env.Info.Login {
		return out, &LoginError{URL: env.Info.URL}
	}
	if env.Error != nil {
		pe := *env.Error
		if env.Info != nil {
			pe.Page = env.Info.URL
		}
		return out, &pe
	}
	return out, nil
}

// Proof says how a scan established the start and the end of the list.
type Proof struct {
	Start string `json:"start"`
	End   string `json:"end"`
	Pages int    `json:"pages"`
}

func (p *Proof) String() string {
	if p == nil {
		return "no complete scan"
	}
	return fmt.Sprintf("a complete scan from %s to its end (%s; %d page(s))", p.Start, p.End, p.Pages)
}

// Unreadable is a row the page shows with a role or remove control but no
// email the page script could read (an address with quotes, parentheses
// or commas in its local part, or one split in a way the script does not
// recognise). It is a seat all the same: reported, never dropped.
type Unreadable struct {
	// Kind is what the row seems to be: an invitation under the pending
	// invitations heading or with a status word, else a member.
	Kind Kind `json:"kind"`
	// Text is the row's visible text, at most 500 characters.
	Text string `json:"text"`
	// RoleControl and RemoveControl say which controls the row has.
	RoleControl   bool `json:"roleControl"`
	RemoveControl bool `json:"removeControl"`
}

// Collected is every row of the Team page, read by a complete scan.
type Collected struct {
	Info        PageInfo `json:"info"`
	Members     []Row    `json:"members"`
	Invitations []Row    `json:"invitations"`
	// Unreadable lists the rows that could not be read; they count
	// against the page's stated counts like the others.
	Unreadable []Unreadable `json:"unreadable"`
	Notes      []string     `json:"notes"`
	Pages      int          `json:"pages"`
	Proof      *Proof       `json:"proof"`
}

// Collect reads every member and invitation with a complete scan: from the
// start of the list (rewound to its first page, scrolled to its top) to
// its proven end, every "Load more" clicked, every page turned, every
// scroller walked. Counts the page states must match what was read; a
// mismatch is an *Error of kind ErrorIncomplete.
func Collect(ctx context.Context, ev Evaluator, o Options) (*Collected, error) {
	return call[Collected](ctx, ev, "reading the member list", o.Total, "collect", o.js())
}

// Counted is how many rows a complete scan saw.
type Counted struct {
	Members     int `json:"members"`
	Invitations int `json:"invitations"`
}

// Located is the answer of Locate.
type Located struct {
	Info PageInfo `json:"info"`
	// Found is the number of rows for the locator: 1 when found (more is
	// an error), 0 only after a complete scan found none.
	Found int  `json:"found"`
	Row   *Row `json:"row"`
	// Proof is set when Found is 0, and when the row was found by a scan
	// from the start.
	Proof *Proof `json:"proof"`
	// How says where the row was found.
	How     string   `json:"how"`
	Counted *Counted `json:"counted"`
}

// Locate finds the row of loc and leaves it rendered: among the rows
// rendered now, then ahead of where the list is, then with a complete scan
// from its start. Found is 0 only when that complete scan found none and
// its counts match what the page states. More than one match is an error
// wrapping agent.ErrPageChanged.
func Locate(ctx context.Context, ev Evaluator, loc Locator, o Options) (*Located, error) {
	l, err := call[Located](ctx, ev, "finding "+loc.String(), o.Total, "locate", loc.Email, loc.Kind, o.js())
	if err == nil && l.Found == 0 && l.Proof == nil {
		return l, &Error{Kind: ErrorIncomplete, Control: loc.String(), Message: "the page script answered absent without a complete scan", Page: l.Info.URL}
	}
	return l, err
}

// Rendered counts the rows of loc among the rows the page has in its DOM
// now, without scrolling or paging, once the page has settled. It proves
// nothing about the rows that are not rendered.
func Rendered(ctx context.Context, ev Evaluator, loc Locator, o Options) (*Located, error) {
	return call[Located](ctx, ev, "looking for "+loc.String(), o.Total, "rendered", loc.Email, loc.Kind, o.js())
}

// Point is where to click a control, and what the page says of it.
type Point struct {
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	Name string  `json:"name"`
	// Control is the control pointed at: Remove, Role, or Menu when the
	// remove control sits in the row's actions menu.
	Control Control `json:"control"`
	// Kind is the role dropdown's form: "select" or "popup".
	Kind string `json:"kind"`
	// Menu is true when the point is the button of an actions menu.
	Menu bool `json:"menu"`
	// Disabled is set, with no point, when the page disables the control.
	Disabled bool `json:"disabled"`
	// Current is the role the row shows.
	Current string `json:"current"`
	// Rendered is false when the row is not in the DOM now.
	Rendered *bool `json:"rendered"`
}

// NotRendered reports whether the row was not in the DOM.
func (p *Point) NotRendered() bool { return p.Rendered != nil && !*p.Rendered }

// PointControl resolves control c of the row of loc among the rendered
// rows, brings it into view, resolves it again, and arms the click guard
// for it: the next click is let through only if it lands on that control
// of a row that shows loc's email. A row that is not rendered answers with
// NotRendered.
func PointControl(ctx context.Context, ev Evaluator, loc Locator, c Control) (*Point, error) {
	return call[Point](ctx, ev, "finding the "+string(c)+" control of "+loc.String(), 0, "pointControl", loc.Email, loc.Kind, c)
}

// Guard is what became of the last armed click.
type Guard struct {
	Armed   bool   `json:"armed"`
	Clicked bool   `json:"clicked"`
	OK      bool   `json:"ok"`
	Reason  string `json:"reason"`
}

// GuardResult reports what the click guard saw of the click since it was
// armed, and disarms it.
func GuardResult(ctx context.Context, ev Evaluator) (*Guard, error) {
	return call[Guard](ctx, ev, "checking the click", 0, "guardResult")
}

// SelectRole picks role in the native <select> of the member row of email,
// resolving the row in the same step. A row that is not rendered answers
// false.
func SelectRole(ctx context.Context, ev Evaluator, email, role string) (bool, error) {
	r, err := call[struct {
		Rendered *bool `json:"rendered"`
	}](ctx, ev, "choosing "+role+" in the role dropdown of "+email, 0, "selectRole", email, role)
	if err != nil {
		return false, err
	}
	return r.Rendered == nil || *r.Rendered, nil
}

// Pattern is a regular expression over a button's or menu item's
// accessible name.
type Pattern string

// The buttons and items the flows click, by name.
const (
	ConfirmRemove Pattern = `^(remove|remove member|remove user|remove from (the )?(workspace|team)|delete|confirm|yes|yes, remove)\b`
	ConfirmRevoke Pattern = `^(revoke|revoke invitation|revoke invite|cancel invitation|delete|confirm|yes|remove)\b`
	SendInvite    Pattern = `^(send invite|send invites|send invitation|send invitations|send|invite)$`
	MenuRemove    Pattern = `^(remove|remove member|remove user|remove from (the )?(workspace|team)|delete|delete member|delete user)\b`
	MenuRevoke    Pattern = `^(revoke|revoke invitation|revoke invite|cancel invitation|cancel invite|remove|remove invitation|delete|delete invitation)\b`
)

// PopupItem points at the one item of the open listbox or menu that matches
// pattern, and arms the click guard for it (and for the row of loc, when
// the page says which row opened the list).
func PopupItem(ctx context.Context, ev Evaluator, loc Locator, pattern Pattern, control string) (*Point, error) {
	return call[Point](ctx, ev, "finding the "+control, 0, "popupItem", loc.Email, loc.Kind, "", pattern, control)
}

// RoleOption points at the option for role in the open listbox or menu,
// options with a description included, and arms the click guard for it.
func RoleOption(ctx context.Context, ev Evaluator, loc Locator, role string) (*Point, error) {
	return call[Point](ctx, ev, "finding the option "+role, 0, "popupItem", loc.Email, loc.Kind, role, "", "role option "+role)
}

// PopupOpen reports whether a listbox or menu is open.
func PopupOpen(ctx context.Context, ev Evaluator) (bool, error) {
	b, err := call[bool](ctx, ev, "checking for an open list", 0, "popupOpen")
	if err != nil {
		return false, err
	}
	return *b, nil
}

// ClosePopup presses Escape for the open listboxes and menus. A page may
// close its popups only on a click outside them (InertPoint) or on their
// trigger; package flows tries those when the popup stays open.
func ClosePopup(ctx context.Context, ev Evaluator) error {
	_, err := call[struct{}](ctx, ev, "closing the open list with Escape", 0, "closePopup")
	return err
}

// InertPoint finds a point of the viewport where a click acts on nothing:
// no control or field, no row, not the open list, not outside the topmost
// open dialog. It arms the click guard, which stops the click unless it
// lands on such a point. A click there closes a popup that closes on a
// click outside it.
func InertPoint(ctx context.Context, ev Evaluator) (*Point, error) {
	return call[Point](ctx, ev, "finding an empty spot of the page", 0, "inertPoint")
}

// Dialog is the state of the topmost open dialog.
type Dialog struct {
	Open   bool     `json:"open"`
	Count  int      `json:"count"`
	Text   string   `json:"text"`
	Errors []string `json:"errors"`
}

// DialogState reads the topmost open dialog, if any.
func DialogState(ctx context.Context, ev Evaluator) (*Dialog, error) {
	return call[Dialog](ctx, ev, "reading the dialog", 0, "dialogState")
}

// DialogButton points at the one button of the open dialog whose name
// matches pattern (never Cancel) and arms the click guard for it.
func DialogButton(ctx context.Context, ev Evaluator, pattern Pattern, control string) (*Point, error) {
	return call[Point](ctx, ev, "finding the "+control, 0, "dialogButton", pattern, control)
}

// CancelDialog closes the open dialog with its Cancel button or Escape.
func CancelDialog(ctx context.Context, ev Evaluator) error {
	_, err := call[struct{}](ctx, ev, "closing the dialog", 0, "cancelDialog")
	return err
}

// Toasts returns the visible alerts and status messages outside dialogs.
func Toasts(ctx context.Context, ev Evaluator) ([]string, error) {
	t, err := call[[]string](ctx, ev, "reading messages", 0, "toasts")
	if err != nil {
		return nil, err
	}
	return *t, nil
}

// InviteButton points at the "+ Invite" button and arms the click guard.
func InviteButton(ctx context.Context, ev Evaluator) (*Point, error) {
	return call[Point](ctx, ev, "finding the Invite button", 0, "inviteButton")
}

// FocusInviteEmail focuses (and selects) the open dialog's email field.
func FocusInviteEmail(ctx context.Context, ev Evaluator) error {
	_, err := call[struct{}](ctx, ev, "finding the email field", 0, "focusInviteEmail")
	return err
}

// InviteEmailValue reads the open dialog's email field.
func InviteEmailValue(ctx context.Context, ev Evaluator) (string, error) {
	v, err := call[struct {
		Value string `json:"value"`
	}](ctx, ev, "reading the email field", 0, "inviteEmailValue")
	if err != nil {
		return "", err
	}
	return v.Value, nil
}

// InviteRole is the role dropdown of the invite dialog.
type InviteRole struct {
	None    bool     `json:"none"`
	Kind    string   `json:"kind"`
	Current string   `json:"current"`
	Options []string `json:"options"`
	X       float64  `json:"x"`
	Y       float64  `json:"y"`
}

// InviteRoleControl finds the invite dialog's role dropdown; a dropdown
// that opens a list is pointed at, with the click guard armed.
func InviteRoleControl(ctx context.Context, ev Evaluator) (*InviteRole, error) {
	return call[InviteRole](ctx, ev, "finding the invite dialog's role dropdown", 0, "inviteRoleControl")
}

// InviteSelectRole picks role in the invite dialog's native <select>.
func InviteSelectRole(ctx context.Context, ev Evaluator, role string) error {
	_, err := call[struct{}](ctx, ev, "choosing "+role+" in the invite dialog", 0, "inviteSelectRole", role)
	return err
}

// LoginField is a field of the login form.
type LoginField string

// The fields of the login form.
const (
	LoginEmail    LoginField = "email"
	LoginPassword LoginField = "password"
)

// LoginStep is what a login page asks for at the moment.
type LoginStep string

// The steps of a sign-in.
const (
	// StepEmail is the first step of a two-step sign-in: an email field
	// and no password field.
	StepEmail LoginStep = "email"
	// StepPassword is a password field: the one-page form (with the
	// email field) or the second step of a two-step one.
	StepPassword LoginStep = "password"
	// StepOTP is a field for a one-time code (autocomplete=one-time-code,
	// or named or labelled code, verification, 2FA, authenticator…).
	StepOTP LoginStep = "otp"
	// StepCaptcha is a CAPTCHA: a frame or element whose title, name,
	// label or address says captcha, recaptcha, hcaptcha or turnstile, a
	// CAPTCHA site key, or text such as "Verify you are human".
	StepCaptcha LoginStep = "captcha"
	// StepNone is none of these.
	StepNone LoginStep = "none"
)

// LoginState is what a login page shows.
type LoginState struct {
	Step LoginStep `json:"step"`
	// Seen describes the one-time-code field or the CAPTCHA.
	Seen string `json:"seen"`
	// EmailField is set, on the password step, when the password's form
	// has an email field to fill in as well.
	EmailField bool `json:"emailField"`
}

// ReadLoginState reads what the login page asks for. A CAPTCHA or a
// one-time code wins over the fields beside it.
func ReadLoginState(ctx context.Context, ev Evaluator) (*LoginState, error) {
	return call[LoginState](ctx, ev, "reading the login page", 0, "loginStep")
}

// FocusLoginField focuses a field of the login page and selects what it
// holds.
func FocusLoginField(ctx context.Context, ev Evaluator, f LoginField) error {
	_, err := call[struct{}](ctx, ev, "focusing the "+string(f)+" field", 0, "focusLoginField", f)
	return err
}

// LoginEmailValue returns what the login page's email field holds.
func LoginEmailValue(ctx context.Context, ev Evaluator) (string, error) {
	v, err := call[struct {
		Value string `json:"value"`
	}](ctx, ev, "reading the email field", 0, "loginEmailValue")
	if err != nil {
		return "", err
	}
	return v.Value, nil
}

// LoginSubmit points at the button that moves the step of field f on
// (Continue after the email, Sign in after the password) and arms the
// click guard for a button of exactly that name. A button that names a
// provider (Google, Microsoft, Apple, GitHub, SSO, SAML, Okta…) is never
// pointed at. A disabled button answers with Disabled set and no point.
func LoginSubmit(ctx context.Context, ev Evaluator, f LoginField) (*Point, error) {
	return call[Point](ctx, ev, "finding the button after the "+string(f)+" field", 0, "loginSubmit", f)
}

// LoginErrors returns the messages a login page shows.
func LoginErrors(ctx context.Context, ev Evaluator) ([]string, error) {
	t, err := call[[]string](ctx, ev, "reading the login page's messages", 0, "loginErrors")
	if err != nil {
		return nil, err
	}
	return *t, nil
}

// Info reads what the page is: its URL, whether it shows a login form,
// whether it is busy.
func Info(ctx context.Context, ev Evaluator) (*PageInfo, error) {
	return call[PageInfo](ctx, ev, "reading the page", 0, "pageInfo")
}

// WaitReady waits until the Team page has settled: no busy marker, rows,
// the same rows on two looks in a row.
func WaitReady(ctx context.Context, ev Evaluator, o Options) (*PageInfo, error) {
	a, err := call[struct {
		Info    PageInfo `json:"info"`
		Timeout bool     `json:"timeout"`
	}](ctx, ev, "waiting for the Team page", o.Total, "waitReady", o.Step.Milliseconds())
	if err != nil {
		return nil, err
	}
	if a.Info.Login {
		return nil, &LoginError{URL: a.Info.URL}
	}
	if a.Timeout {
		return &a.Info, &Error{Kind: ErrorTimeout, Control: "the member list", Message: "the Team page did not settle (busy, or no member rows)", Page: a.Info.URL}
	}
	return &a.Info, nil
}

// Stated is what the page says of its own size and position.
type Stated struct {
	Members     []int    `json:"members"`
	Invitations []int    `json:"invitations"`
	From        int      `json:"from"`
	To          int      `json:"to"`
	Of          int      `json:"of"`
	Texts       []string `json:"texts"`
}

// StatedCounts reads the counts the page states: headings with a count,
// "Showing 1–25 of 300", "60 members".
func StatedCounts(ctx context.Context, ev Evaluator) (*Stated, error) {
	return call[Stated](ctx, ev, "reading the page's counts", 0, "statedCounts")
}
