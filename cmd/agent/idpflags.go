package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// idpFlags are the flags that name identity sources and how to match
// them: reconcile, plan and serve share them.
type idpFlags struct {
	sources         []string
	format          string
	columns         string
	active          []string
	oktaTokenFile   string
	entraClientID   string
	entraSecretFile string
	domainAliases   []string
	companyDomains  []string

	aliases []idp.DomainAlias
	opts    []idp.Option
}

func (f *idpFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.sources, "idp", nil, "an identity source (repeatable): an export file (Entra, Graph JSON, Okta, Google Workspace, any CSV), okta:https://ORG.okta.com or entra:TENANT")
	fs.StringVar(&f.format, "idp-format", "", "the format of export files given without one, instead of detecting it: "+strings.Join(formatNames(), ", "))
	fs.StringVar(&f.columns, "idp-column", "", "for any CSV: which columns hold what, email=COL,status=COL[,name=COL][,aliases=COL]")
	fs.StringArrayVar(&f.active, "idp-active", nil, "for any CSV: a status word that means active (repeatable)")
	fs.StringVar(&f.oktaTokenFile, "okta-token-file", "", "a file holding the Okta API token (default: env "+idp.EnvOktaToken+")")
	fs.StringVar(&f.entraClientID, "entra-client-id", "", "the Entra app's client id (default: env "+idp.EnvAzureClientID+")")
	fs.StringVar(&f.entraSecretFile, "entra-secret-file", "", "a file holding the Entra app's client secret (default: env "+idp.EnvAzureClientSecret+")")
	fs.StringArrayVar(&f.domainAliases, "domain-alias", nil, "look up an address at OLD as the same local part at NEW too: OLD=NEW (repeatable)")
	fs.StringArrayVar(&f.companyDomains, "company-domain", nil, "a domain of the company (repeatable); an address nobody knows there is not-in-idp, elsewhere external (default: the domains of the sources' own people)")
}

func formatNames() []string {
	out := make([]string, len(idp.FileFormats))
	for i, f := range idp.FileFormats {
		out[i] = string(f)
	}
	return out
}

// validate checks every value before any source is read or any browser
// starts, and reads the live sources' secrets (a missing or refused secret
// file fails here). Errors are usage errors (exit 2). The sources read
// their secrets' environment variables with getenv and log to log.
func (f *idpFlags) validate(getenv func(string) string, log *zap.Logger) error {
	if len(f.sources) == 0 {
		return usageError("--idp is required: an export file, okta:https://ORG.okta.com or entra:TENANT")
	}
	if f.format != "" {
		if _, err := idp.ParseFormat(f.format); err != nil {
			return usageError("--idp-format: %v", err)
		}
	}
	for _, s := range f.sources {
		if _, err := idp.ParseSpec(f.spec(s)); err != nil {
			return usageError("--idp %s: %v", quoteFlagValue(s), err)
		}
	}
	f.opts = []idp.Option{idp.WithGetenv(getenv), idp.WithLogger(log.Named("idp"))}
	if f.columns != "" || len(f.active) > 0 {
		m, err := idp.ParseColumnMap(f.columns, f.active)
		if err != nil {
			return usageError("--idp-column: %v", err)
		}
		f.opts = append(f.opts, idp.WithColumns(m))
	}
	if f.oktaTokenFile != "" {
		f.opts = append(f.opts, idp.WithOktaTokenFile(f.oktaTokenFile))
	}
	if f.entraClientID != "" {
		f.opts = append(f.opts, idp.WithEntraClientID(f.entraClientID))
	}
	if f.entraSecretFile != "" {
		f.opts = append(f.opts, idp.WithEntraSecretFile(f.entraSecretFile))
	}
	if err := idp.CheckCredentials(f.specs(), f.opts...); err != nil {
		return fmt.Errorf("%w: %w", agent.ErrUsage, err)
	}
	f.aliases = nil
	for _, s := range f.domainAliases {
		al, err := idp.ParseDomainAlias(s)
		if err != nil {
			return usageError("--domain-alias: %v", err)
		}
		f.aliases = append(f.aliases, al)
	}
	for _, d := range f.companyDomains {
		if _, err := idp.ParseDomain(d); err != nil {
			return usageError("--company-domain: %v", err)
		}
	}
	return nil
}

// spec is the source spec of one --idp, with --idp-format applied to a
// file named without a format.
func (f *idpFlags) spec(s string) string {
	if f.format == "" {
		return s
	}
	if p, err := idp.ParseSpec(s); err == nil && p.Format == "" && !p.Live() {
		return f.format + ":" + s
	}
	return s
}

// specs are the source specs of every --idp.
func (f *idpFlags) specs() []string {
	specs := make([]string, len(f.sources))
	for i, s := range f.sources {
		specs[i] = f.spec(s)
	}
	return specs
}

// load reads every source. Bad input is a usage error (exit 2); a live
// directory that could not be read whole is exit 1, with no findings.
func (f *idpFlags) load(ctx context.Context) ([]*idp.Directory, error) {
	dirs, err := idp.LoadAll(ctx, f.specs(), f.opts...)
	switch {
	case err == nil:
		return dirs, nil
	case errors.Is(err, idp.ErrBadSource), errors.Is(err, idp.ErrBadOption):
		return nil, fmt.Errorf("%w: %w", agent.ErrUsage, err)
	case errors.Is(err, idp.ErrIncomplete):
		return nil, fmt.Errorf("no findings: %w", err)
	}
	return nil, err
}

// reconcile compares a roster with the loaded sources.
func (f *idpFlags) reconcile(r *roster.Roster, dirs []*idp.Directory) (*idp.Report, error) {
	rep, err := idp.Reconcile(r, idp.NewIndex(dirs, f.aliases), f.companyDomains)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", agent.ErrUsage, err)
	}
	return rep, nil
}
