package selectors_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/selectors"
)

// TestLoginPagesByTheirHooks reads login pages the fixture server does not
// serve: a form that starts with a provider's submit button, div buttons
// without a form, a code in one-character fields, an invisible reCAPTCHA,
// a Turnstile frame known by its address, and a challenge known by its
// words.
func TestLoginPagesByTheirHooks(t *testing.T) {
	cases := []struct {
		file   string
		step   selectors.LoginStep
		seen   string // part of what the page showed, for a challenge
		button string // the name of the button after the step's field
		login  bool   // the page reads as a login page
	}{
		{"login-provider-first.html", selectors.StepEmail, "", "Continue", true},
		{"login-divs.html", selectors.StepEmail, "", "Continue", false},
		{"login-otp-digits.html", selectors.StepOTP, "6 one-character fields", "", false},
		{"login-invisible-recaptcha.html", selectors.StepPassword, "", "Log in", true},
		{"login-turnstile.html", selectors.StepCaptcha, "Cloudflare security challenge", "", true},
		{"login-robot.html", selectors.StepCaptcha, "I'm not a robot", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b, ctx := openPage(t, tc.file)
			st, err := selectors.ReadLoginState(ctx, b)
			require.NoError(t, err)
			assert.Equal(t, tc.step, st.Step)
			assert.Contains(t, st.Seen, tc.seen)
			info, err := selectors.Info(ctx, b)
			require.NoError(t, err)
			assert.Equal(t, tc.login, info.Login)
			if tc.button == "" {
				return
			}
			field := selectors.LoginEmail
			if tc.step == selectors.StepPassword {
				field = selectors.LoginPassword
			}
			p, err := selectors.LoginSubmit(ctx, b, field)
			require.NoError(t, err)
			assert.Equal(t, tc.button, p.Name, "never a provider's button")
			_, err = selectors.GuardResult(ctx, b)
			require.NoError(t, err)
		})
	}
}

// TestLoginClickGuardStopsAProviderButton checks that a click pointed at
// the Continue button cannot land on "Sign in with Google": the guard
// stops it before the page sees it.
func TestLoginClickGuardStopsAProviderButton(t *testing.T) {
	b, ctx := openPage(t, "login-provider-first.html")
	_, err := selectors.LoginSubmit(ctx, b, selectors.LoginEmail)
	require.NoError(t, err)
	var google struct{ X, Y float64 }
	require.NoError(t, b.Eval(ctx, "locating the Google button", 0, `(() => {
	  const g = [...document.querySelectorAll('button')].find((e) => /Google/.test(e.textContent));
	  window.__submitted = false;
	  g.form.addEventListener('submit', (e) => { window.__submitted = true; e.preventDefault(); });
	  const r = g.getBoundingClientRect();
	  return { X: r.left + r.width / 2, Y: r.top + r.height / 2 };
	})()`, &google))
	require.NoError(t, b.ClickAt(ctx, "the Google button", google.X, google.Y))
	g, err := selectors.GuardResult(ctx, b)
	require.NoError(t, err)
	assert.True(t, g.Armed)
	assert.False(t, g.OK)
	assert.Contains(t, g.Reason, "Sign in with Google")
	var submitted bool
	require.NoError(t, b.Eval(ctx, "reading the form", 0, `window.__submitted`, &submitted))
	assert.False(t, submitted, "the page never saw the click")
}
