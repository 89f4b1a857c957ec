package idp

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Spec is a parsed source spec: a file, or a live directory.
type Spec struct {
	// Format is the file format the spec names ("" to detect it from the
	// file), or FormatOktaAPI or FormatGraphAPI for a live directory.
	Format Format
	// Path is the file's path, for a file.
	Path string
	// URL is the Okta org's base URL (scheme and host), for FormatOktaAPI.
	URL string
	// Tenant is the Entra tenant id or domain, for FormatGraphAPI.
	Tenant string
}

// Prefixes of live source specs.
const (
	oktaPrefix  = "okta:"
	entraPrefix = "entra:"
)

// Live reports whether the spec names a live directory.
func (s Spec) Live() bool { return s.Format == FormatOktaAPI || s.Format == FormatGraphAPI }

// String returns the source's display name: the path of a file,
// "okta:https://ORG.okta.com" or "entra:TENANT". It holds no secret.
func (s Spec) String() string {
	switch s.Format {
	case FormatOktaAPI:
		return oktaPrefix + s.URL
	case FormatGraphAPI:
		return entraPrefix + s.Tenant
	}
	return s.Path
}

// tenantRE matches an Entra tenant id (a GUID) or domain.
var tenantRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)

// ParseSpec reads a source spec, the value of one --idp:
//
//	okta:https://ORG.okta.com   Okta's Users API, live
//	entra:TENANT                Microsoft Graph, live (tenant id or domain)
//	FORMAT:PATH                 a file in the named format (entra-csv,
//	                            graph-json, okta-json, okta-csv,
//	                            google-csv, csv)
//	PATH                        a file whose format is detected
//
// The Okta URL must be https (http is accepted for a loopback host only)
// and name the org alone: no path, query or user information. Errors wrap
// ErrBadSource.
func ParseSpec(spec string) (Spec, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return Spec{}, fmt.Errorf("%w: empty source", ErrBadSource)
	}
	prefix, rest, found := strings.Cut(s, ":")
	if !found {
		return Spec{Path: s}, nil
	}
	switch strings.ToLower(prefix) {
	case "okta":
		u, err := oktaURL(rest)
		if err != nil {
			return Spec{}, fmt.Errorf("%w: %q: %w (for an export file, give okta-json:PATH or okta-csv:PATH)", ErrBadSource, spec, err)
		}
		return Spec{Format: FormatOktaAPI, URL: u}, nil
	case "entra":
		if !tenantRE.MatchString(rest) || strings.Contains(rest, "..") {
			return Spec{}, fmt.Errorf("%w: %q: want entra:TENANT with a tenant id or domain such as contoso.onmicrosoft.com (for an export file, give entra-csv:PATH or graph-json:PATH)", ErrBadSource, spec)
		}
		return Spec{Format: FormatGraphAPI, Tenant: rest}, nil
	}
	if f := Format(strings.ToLower(prefix)); slices.Contains(FileFormats, f) {
		if rest == "" {
			return Spec{}, fmt.Errorf("%w: %q: no file after %s:", ErrBadSource, spec, f)
		}
		return Spec{Format: f, Path: rest}, nil
	}
	return Spec{Path: s}, nil
}

// oktaURL checks an Okta org URL and returns it as scheme://host.
func oktaURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("want okta:https://ORG.okta.com")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("want the org URL alone, such as https://ORG.okta.com")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", fmt.Errorf("the API token would travel unencrypted: use https")
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
