package selectors

import "context"

// Hook says how the page script identified a control, for a probe.
type Hook struct {
	// Found is whether a control was identified at all.
	Found bool `json:"found"`
	// Hook names what identified it: "text", "ARIA name", "title",
	// "icon", "input type email", "label", or "structure (…)".
	Hook string `json:"hook"`
	// Count is how many controls matched; a control is trusted only when
	// it is exactly one.
	Count int `json:"count"`
	// Kind is a role dropdown's form: "select" or "popup".
	Kind string `json:"kind"`
	// Menu is true when the remove control sits in an actions menu.
	Menu bool `json:"menu"`
	// Disabled is true when the page disables the control.
	Disabled bool `json:"disabled"`
	// Message says why a control was not identified, when the script knows.
	Message string `json:"message"`
}

// Unique reports whether exactly one control matched.
func (h Hook) Unique() bool { return h.Found && h.Count == 1 }

// RowHooks is how the controls of one row are identified.
type RowHooks struct {
	Rendered bool `json:"rendered"`
	Role     Hook `json:"role"`
	Remove   Hook `json:"remove"`
}

// ProbeRow describes how the role and remove controls of the row of loc
// are identified, touching nothing. A row that is not rendered answers
// with Rendered false.
func ProbeRow(ctx context.Context, ev Evaluator, loc Locator) (*RowHooks, error) {
	return call[RowHooks](ctx, ev, "probing the controls of "+loc.String(), 0, "probeRow", loc.Email, loc.Kind)
}

// ProbeItem describes the item of the open listbox or menu that matches
// pattern, touching nothing.
func ProbeItem(ctx context.Context, ev Evaluator, pattern Pattern) (*Hook, error) {
	return call[Hook](ctx, ev, "probing the open menu", 0, "probeItem", pattern)
}

// InviteHooks is how the Invite button and, when the invite dialog is
// open, its fields are identified.
type InviteHooks struct {
	Button Hook  `json:"button"`
	Email  *Hook `json:"email"`
	Role   *Hook `json:"role"`
	Send   *Hook `json:"send"`
}

// ProbeInvite describes the Invite button and the open invite dialog's
// email field, role dropdown and Send invite button, touching nothing.
func ProbeInvite(ctx context.Context, ev Evaluator) (*InviteHooks, error) {
	return call[InviteHooks](ctx, ev, "probing the invite controls", 0, "probeInvite", SendInvite)
}
