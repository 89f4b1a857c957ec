// Package selectors is everything the agent knows about the Team page's
// markup. The hooks of the contract (shared/clay-team-page.md) are resolved
// by one embedded page script, page.js, which answers each question in a
// single round trip: the rows with their name, email, role and status; or
// the position of the one control to click, after checking that it is the
// only match and that nothing covers it.
//
// The package never clicks: it tells package flows where to click. A change
// of markup on Clay's side is a change in this package only.
package selectors

import (
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

// Script is the page script with its version stamped in. Evaluating it
// defines window.__clayAgent once per document.
var Script = func() string {
	sum := sha256.Sum256([]byte(pageJS))
	return strings.Replace(pageJS, "__VERSION__", hex.EncodeToString(sum[:6]), 1)
}()

// Evaluator runs one expression in the page and decodes its JSON answer.
// *agent.Browser implements it.
type Evaluator interface {
	Eval(ctx context.Context, name string, d time.Duration, expr string, out any) error
}

// call builds an expression that defines the page script when the document
// lacks it and calls fn with args.
func call(fn string, args ...any) string {
	enc := make([]string, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			panic(fmt.Sprintf("selectors: argument %d of %s: %v", i, fn, err))
		}
		enc[i] = string(b)
	}
	return "(function(){" + Script + "\nreturn window.__clayAgent." + fn + "(" + strings.Join(enc, ",") + ");})()"
}

// Error is a page script's refusal: a control or row that could not be
// identified by its hooks, an ambiguous match, a timeout inside the page.
type Error struct {
	// Kind is contract, ambiguous, timeout, stale, covered or refused.
	Kind string `json:"kind"`
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
		msg += " (on " + e.Page + ")"
	}
	return msg
}

// Unwrap maps the kind to the runtime's sentinel errors.
func (e *Error) Unwrap() error {
	switch e.Kind {
	case "contract", "ambiguous":
		return agent.ErrPageChanged
	case "refused":
		return agent.ErrRefused
	case "stale", "covered":
		return agent.ErrTransient
	case "timeout":
		return agent.ErrStepTimeout
	}
	return nil
}

// PageInfo is what every answer says about the page.
type PageInfo struct {
	URL     string `json:"url"`
	Title   string `json:"title"`
	Login   bool   `json:"login"`
	Busy    bool   `json:"busy"`
	Heading string `json:"heading"`
}

// Row is one member or invitation row as the page shows it.
type Row struct {
	Kind           string `json:"kind"` // member or invitation
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
}

type answer struct {
	Info  PageInfo `json:"info"`
	Error *Error   `json:"error"`
}

func (a *answer) err() error {
	if a.Error == nil {
		return nil
	}
	e := *a.Error
	e.Page = a.Info.URL
	return &e
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

// Collected is every row of the Team page.
type Collected struct {
	Info        PageInfo `json:"-"`
	Members     []Row    `json:"members"`
	Invitations []Row    `json:"invitations"`
	Notes       []string `json:"notes"`
	Pages       int      `json:"pages"`
}

// Collect reads every member and invitation, following pagination and
// scrolling virtualized lists.
func Collect(ctx context.Context, ev Evaluator, o Options) (*Collected, error) {
	var a struct {
		answer
		Collected
	}
	if err := ev.Eval(ctx, "reading the member list", o.Total, call("collect", o.js()), &a); err != nil {
		return nil, err
	}
	a.Collected.Info = a.answer.Info
	if a.answer.Info.Login {
		return nil, &LoginError{URL: a.answer.Info.URL}
	}
	if err := a.err(); err != nil {
		return nil, err
	}
	return &a.Collected, nil
}

// Located is the answer of Locate.
type Located struct {
	Info  PageInfo `json:"-"`
	Found int      `json:"found"`
	Token string   `json:"token"`
	Row   *Row     `json:"row"`
}

// Locate finds the one row of kind ("member" or "invitation") for email,
// brings it into view and marks it. Found is 0 when there is none; more
// than one match is an error wrapping agent.ErrPageChanged.
func Locate(ctx context.Context, ev Evaluator, email, kind string, o Options) (*Located, error) {
	var a struct {
		answer
		Located
	}
	if err := ev.Eval(ctx, "finding the row of "+email, o.Total, call("locate", email, kind, o.js()), &a); err != nil {
		return nil, err
	}
	a.Located.Info = a.answer.Info
	if a.answer.Info.Login {
		return nil, &LoginError{URL: a.answer.Info.URL}
	}
	if err := a.err(); err != nil {
		return &a.Located, err
	}
	return &a.Located, nil
}

// Point is where to click a control, and what the page says of it.
type Point struct {
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	Token    string  `json:"token"`
	Name     string  `json:"name"`
	Disabled bool    `json:"disabled"`
	Kind     string  `json:"kind"`
	Current  string  `json:"current"`
}

func point(ctx context.Context, ev Evaluator, name, expr string) (*Point, error) {
	var a struct {
		Error *Error `json:"error"`
		Point
	}
	if err := ev.Eval(ctx, name, 0, expr, &a); err != nil {
		return nil, err
	}
	if a.Error != nil {
		return nil, a.Error
	}
	return &a.Point, nil
}

// RowControl points at a control of the marked row: "remove" (the trash
// control) or "role" (the role dropdown). Disabled is set, with no point,
// when the page disabled the control.
func RowControl(ctx context.Context, ev Evaluator, token, what string) (*Point, error) {
	return point(ctx, ev, "finding the "+what+" control", call("rowControl", token, what))
}

// SelectRole picks role in the marked row's native <select>.
func SelectRole(ctx context.Context, ev Evaluator, token, role string) error {
	_, err := point(ctx, ev, "choosing "+role+" in the role dropdown", call("selectRole", token, role))
	return err
}

// PopupOption points at the option for role in the open listbox or menu.
func PopupOption(ctx context.Context, ev Evaluator, role string) (*Point, error) {
	return point(ctx, ev, "finding the option "+role, call("popupOption", role))
}

// PopupOpen reports whether a listbox or menu is open.
func PopupOpen(ctx context.Context, ev Evaluator) (bool, error) {
	var open bool
	err := ev.Eval(ctx, "checking for an open list", 0, call("popupOpen"), &open)
	return open, err
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
	var d Dialog
	err := ev.Eval(ctx, "reading the dialog", 0, call("dialogState"), &d)
	return &d, err
}

// Confirm buttons, as patterns over a button's accessible name.
const (
	ConfirmRemove = `^(remove|remove member|remove from workspace|delete|confirm|yes|yes, remove)\b`
	ConfirmRevoke = `^(revoke|revoke invitation|revoke invite|cancel invitation|delete|confirm|yes|remove)\b`
	SendInvite    = `^(send invite|send invites|send invitation|send invitations|send|invite)$`
)

// DialogButton points at the one button of the open dialog whose name
// matches pattern (never Cancel).
func DialogButton(ctx context.Context, ev Evaluator, pattern, control string) (*Point, error) {
	return point(ctx, ev, "finding the "+control, call("dialogButton", pattern, control))
}

// CancelDialog closes the open dialog with its Cancel button or Escape.
func CancelDialog(ctx context.Context, ev Evaluator) error {
	return ev.Eval(ctx, "closing the dialog", 0, call("cancelDialog"), nil)
}

// Toasts returns the visible alerts and status messages outside dialogs.
func Toasts(ctx context.Context, ev Evaluator) ([]string, error) {
	var t []string
	err := ev.Eval(ctx, "reading messages", 0, call("toasts"), &t)
	return t, err
}

// InviteButton points at the "+ Invite" button.
func InviteButton(ctx context.Context, ev Evaluator) (*Point, error) {
	return point(ctx, ev, "finding the Invite button", call("inviteButton"))
}

// Field is an input the page script marked and focused.
type Field struct {
	Token string `json:"token"`
	Value string `json:"value"`
}

// DialogEmailInput focuses (and selects) the open dialog's email field.
func DialogEmailInput(ctx context.Context, ev Evaluator) (*Field, error) {
	var a struct {
		Error *Error `json:"error"`
		Field
	}
	if err := ev.Eval(ctx, "finding the email field", 0, call("dialogEmailInput"), &a); err != nil {
		return nil, err
	}
	if a.Error != nil {
		return nil, a.Error
	}
	return &a.Field, nil
}

// DialogRole is the role dropdown of the invite dialog.
type DialogRole struct {
	None    bool     `json:"none"`
	Kind    string   `json:"kind"`
	Token   string   `json:"token"`
	Current string   `json:"current"`
	Options []string `json:"options"`
	X       float64  `json:"x"`
	Y       float64  `json:"y"`
}

// DialogRoleControl finds the invite dialog's role dropdown.
func DialogRoleControl(ctx context.Context, ev Evaluator) (*DialogRole, error) {
	var a struct {
		Error *Error `json:"error"`
		DialogRole
	}
	if err := ev.Eval(ctx, "finding the invite dialog's role dropdown", 0, call("dialogRoleControl"), &a); err != nil {
		return nil, err
	}
	if a.Error != nil {
		return nil, a.Error
	}
	return &a.DialogRole, nil
}

// SelectByToken picks role in a marked native <select>.
func SelectByToken(ctx context.Context, ev Evaluator, token, role string) error {
	_, err := point(ctx, ev, "choosing "+role, call("selectByToken", token, role))
	return err
}

// ValueOf reads a marked field's value.
func ValueOf(ctx context.Context, ev Evaluator, token string) (string, error) {
	var a struct {
		Error *Error `json:"error"`
		Value string `json:"value"`
	}
	if err := ev.Eval(ctx, "reading a field", 0, call("valueOf", token), &a); err != nil {
		return "", err
	}
	if a.Error != nil {
		return "", a.Error
	}
	return a.Value, nil
}

// LoginForm marks the login page's email field, password field and
// submit button.
type LoginForm struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Submit   string `json:"submit"`
}

// FindLoginForm finds the login form.
func FindLoginForm(ctx context.Context, ev Evaluator) (*LoginForm, error) {
	var a struct {
		Error *Error `json:"error"`
		LoginForm
	}
	if err := ev.Eval(ctx, "finding the login form", 0, call("loginForm"), &a); err != nil {
		return nil, err
	}
	if a.Error != nil {
		return nil, a.Error
	}
	return &a.LoginForm, nil
}

// Focus focuses and selects a marked field.
func Focus(ctx context.Context, ev Evaluator, token string) error {
	_, err := point(ctx, ev, "focusing a field", call("focusToken", token))
	return err
}

// PointAt points at a marked control.
func PointAt(ctx context.Context, ev Evaluator, token, control string) (*Point, error) {
	return point(ctx, ev, "finding the "+control, call("pointToken", token, control))
}

// LoginErrors returns the messages a login page shows.
func LoginErrors(ctx context.Context, ev Evaluator) ([]string, error) {
	var t []string
	err := ev.Eval(ctx, "reading the login page's messages", 0, call("loginErrors"), &t)
	return t, err
}

// Info reads what the page is: its URL, whether it shows a login form,
// whether it is busy.
func Info(ctx context.Context, ev Evaluator) (*PageInfo, error) {
	var i PageInfo
	err := ev.Eval(ctx, "reading the page", 0, call("pageInfo"), &i)
	return &i, err
}

// RowGone reports whether the marked row left the page.
func RowGone(ctx context.Context, ev Evaluator, token string) (bool, error) {
	var a struct {
		Gone bool `json:"gone"`
	}
	err := ev.Eval(ctx, "checking the row", 0, call("rowState", token), &a)
	return a.Gone, err
}

// WaitReady waits until the Team page has settled: no busy marker, member
// rows, the same rows on two looks in a row.
func WaitReady(ctx context.Context, ev Evaluator, o Options) (*PageInfo, error) {
	var a struct {
		Info    PageInfo `json:"info"`
		Timeout bool     `json:"timeout"`
		Members int      `json:"members"`
	}
	if err := ev.Eval(ctx, "waiting for the Team page", o.Total, call("waitReady", o.Step.Milliseconds()), &a); err != nil {
		return nil, err
	}
	if a.Info.Login {
		return nil, &LoginError{URL: a.Info.URL}
	}
	if a.Timeout {
		return &a.Info, &Error{Kind: "timeout", Control: "the member list", Message: "the Team page did not settle (busy, or no member rows)", Page: a.Info.URL}
	}
	return &a.Info, nil
}

// Rendered counts the rows of email (kind "member" or "invitation") among
// the rows the page has in its DOM now, without scrolling or paging, once
// the page has settled.
func Rendered(ctx context.Context, ev Evaluator, email, kind string, o Options) (int, error) {
	var a struct {
		answer
		Found int `json:"found"`
	}
	if err := ev.Eval(ctx, "looking for the row of "+email, o.Total, call("rendered", email, kind, o.js()), &a); err != nil {
		return 0, err
	}
	if a.Info.Login {
		return 0, &LoginError{URL: a.Info.URL}
	}
	if err := a.err(); err != nil {
		return 0, err
	}
	return a.Found, nil
}
