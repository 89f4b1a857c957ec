package idp

import (
	"fmt"
	"strings"

	"github.com/clay-agent/clay-agent/agent/secret"
)

// The size limits of the live sources' secrets: an Okta API token is 42
// characters, an Entra client secret 40.
const (
	maxOktaToken   = 4 << 10
	maxEntraSecret = 4 << 10
)

// credentials are what a live source needs before its first request: its
// secret (the Okta API token or the Entra client secret), where the
// secret came from (a file's path or $VARIABLE, for messages), and
// Entra's client id.
type credentials struct {
	secret, from string
	clientID     string
}

// readCredentials reads the credentials of the live source s from their
// files (through secret.Read: mode 0600 or stricter, links followed) or
// the environment. A file source needs none. Errors wrap ErrBadSource,
// and secret's reason when a file was refused.
func readCredentials(s Spec, cfg *config) (credentials, error) {
	src := s.String()
	switch s.Format {
	case FormatOktaAPI:
		tok, from, err := secret.FromFileOrEnv(cfg.oktaTokenFile, EnvOktaToken, cfg.getenv,
			secret.Options{Kind: "Okta API token", MaxSize: maxOktaToken, Trim: true})
		if err != nil {
			return credentials{}, fmt.Errorf("%w: %s: %w", ErrBadSource, src, err)
		}
		if len(tok) == 0 {
			return credentials{}, fmt.Errorf("%w: %s: no API token: set %s or give a token file", ErrBadSource, src, EnvOktaToken)
		}
		return credentials{secret: string(tok), from: from}, nil
	case FormatGraphAPI:
		clientID := cfg.entraClientID
		if clientID == "" {
			clientID = strings.TrimSpace(cfg.getenv(EnvAzureClientID))
		}
		if clientID == "" {
			return credentials{}, fmt.Errorf("%w: %s: no client id: set %s or give one", ErrBadSource, src, EnvAzureClientID)
		}
		sec, from, err := secret.FromFileOrEnv(cfg.entraSecretFile, EnvAzureClientSecret, cfg.getenv,
			secret.Options{Kind: "Entra client secret", MaxSize: maxEntraSecret, Trim: true})
		if err != nil {
			return credentials{}, fmt.Errorf("%w: %s: %w", ErrBadSource, src, err)
		}
		if len(sec) == 0 {
			return credentials{}, fmt.Errorf("%w: %s: no client secret: set %s or give a secret file", ErrBadSource, src, EnvAzureClientSecret)
		}
		return credentials{secret: string(sec), from: from, clientID: clientID}, nil
	}
	return credentials{}, nil
}

// CheckCredentials reads the credentials of every live source among specs
// as LoadAll would, and sends no request: a missing secret, or a secret
// file that is refused (see package secret), fails before anything is
// downloaded or any browser starts. Errors wrap ErrBadSource.
func CheckCredentials(specs []string, opts ...Option) error {
	cfg := newConfig(opts)
	for _, spec := range specs {
		s, err := ParseSpec(spec)
		if err != nil {
			return err
		}
		if _, err := readCredentials(s, cfg); err != nil {
			return err
		}
	}
	return nil
}
