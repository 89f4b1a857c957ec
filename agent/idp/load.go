package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Environment variables the live sources read their credentials from
// when no file is given.
const (
	// EnvOktaToken holds an Okta API token.
	EnvOktaToken = "OKTA_API_TOKEN"
	// EnvAzureClientID holds the application (client) id of an Entra app
	// registration with the User.Read.All application permission.
	EnvAzureClientID = "AZURE_CLIENT_ID"
	// EnvAzureClientSecret holds that application's client secret.
	EnvAzureClientSecret = "AZURE_CLIENT_SECRET"
)

// Defaults of the live sources.
const (
	DefaultGraphLoginURL = "https://login.microsoftonline.com"
	DefaultGraphBaseURL  = "https://graph.microsoft.com"
	// DefaultMaxAttempts bounds the attempts at one request, the first
	// included.
	DefaultMaxAttempts = 5
	// DefaultBaseDelay is the wait before the first retry; waits double
	// from it, with ±25% jitter.
	DefaultBaseDelay = time.Second
	// DefaultMaxDelay caps the wait between two attempts when the server
	// does not say how long to wait.
	DefaultMaxDelay = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After the package waits
	// out; a server asking for more fails the download.
	DefaultMaxRetryAfter = 2 * time.Minute
	// DefaultTimeout bounds one HTTP request.
	DefaultTimeout = 60 * time.Second
)

// maxFileSize bounds an export file.
const maxFileSize = 1 << 30

// config holds what the options set.
type config struct {
	columns         *ColumnMap
	getenv          func(string) string
	oktaTokenFile   string
	entraClientID   string
	entraSecretFile string
	httpClient      *http.Client
	graphLoginURL   string
	graphBaseURL    string
	maxAttempts     int
	baseDelay       time.Duration
	maxDelay        time.Duration
	maxRetryAfter   time.Duration
	log             *zap.Logger
}

func newConfig(opts []Option) *config {
	c := &config{
		getenv:        os.Getenv,
		httpClient:    &http.Client{Timeout: DefaultTimeout},
		graphLoginURL: DefaultGraphLoginURL,
		graphBaseURL:  DefaultGraphBaseURL,
		maxAttempts:   DefaultMaxAttempts,
		baseDelay:     DefaultBaseDelay,
		maxDelay:      DefaultMaxDelay,
		maxRetryAfter: DefaultMaxRetryAfter,
		log:           zap.NewNop(),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Option configures Load, LoadAll and Parse.
type Option func(*config)

// WithColumns reads CSV files through m: a file named csv:PATH, and any
// CSV file without an explicit format whose header has every column m
// names. Other files are detected as usual.
func WithColumns(m ColumnMap) Option {
	return func(c *config) { c.columns = &m }
}

// WithGetenv sets the function environment variables are read with
// (os.Getenv by default).
func WithGetenv(getenv func(string) string) Option {
	return func(c *config) {
		if getenv != nil {
			c.getenv = getenv
		}
	}
}

// WithOktaTokenFile reads the Okta API token from a file (surrounding
// white space ignored) instead of OKTA_API_TOKEN. The file is read by
// secret.Read: mode 0600 or stricter, owned by the effective user.
func WithOktaTokenFile(path string) Option {
	return func(c *config) { c.oktaTokenFile = path }
}

// WithEntraClientID sets the Entra application (client) id instead of
// AZURE_CLIENT_ID. A client id is not a secret.
func WithEntraClientID(id string) Option {
	return func(c *config) { c.entraClientID = strings.TrimSpace(id) }
}

// WithEntraSecretFile reads the Entra client secret from a file
// (surrounding white space ignored) instead of AZURE_CLIENT_SECRET. The
// file is read by secret.Read: mode 0600 or stricter, owned by the
// effective user.
func WithEntraSecretFile(path string) Option {
	return func(c *config) { c.entraSecretFile = path }
}

// WithHTTPClient sets the HTTP client of the live sources. The default
// bounds each request to 60 seconds.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithGraphLoginURL sets the base URL of the Microsoft identity platform
// (default https://login.microsoftonline.com); the token is requested
// from BASE/TENANT/oauth2/v2.0/token.
func WithGraphLoginURL(u string) Option {
	return func(c *config) { c.graphLoginURL = strings.TrimRight(u, "/") }
}

// WithGraphBaseURL sets the base URL of Microsoft Graph (default
// https://graph.microsoft.com); users are read from BASE/v1.0/users, and
// the token is sent to that host only.
func WithGraphBaseURL(u string) Option {
	return func(c *config) { c.graphBaseURL = strings.TrimRight(u, "/") }
}

// WithRetry sets the retry policy of each request: at most maxAttempts
// attempts (the first included; below 1 means 1), waits doubling from
// base with ±25% jitter, capped at maxDelay. A Retry-After the server
// sends replaces the computed wait.
func WithRetry(maxAttempts int, base, maxDelay time.Duration) Option {
	return func(c *config) {
		c.maxAttempts = max(maxAttempts, 1)
		c.baseDelay = base
		c.maxDelay = maxDelay
	}
}

// WithMaxRetryAfter sets the longest wait a 429 response's Retry-After
// (or Okta's X-Rate-Limit-Reset) may ask for; a longer one fails the
// download instead of waiting.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *config) { c.maxRetryAfter = d }
}

// WithLogger logs the pages read and the retries (debug and warn).
func WithLogger(l *zap.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// Load reads one source (see ParseSpec). For a live directory it
// downloads every page: on failure it returns no directory and an error
// wrapping ErrIncomplete (and ErrAuth when credentials were refused).
// Bad input wraps ErrBadSource.
func Load(ctx context.Context, spec string, opts ...Option) (*Directory, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return LoadSpec(ctx, s, opts...)
}

// LoadSpec reads the source s names. A live source's credentials are
// read before its first request.
func LoadSpec(ctx context.Context, s Spec, opts ...Option) (*Directory, error) {
	cfg := newConfig(opts)
	cred, err := readCredentials(s, cfg)
	if err != nil {
		return nil, err
	}
	return loadSpec(ctx, s, cfg, cred)
}

// loadSpec reads the source s names with its credentials read already.
func loadSpec(ctx context.Context, s Spec, cfg *config, cred credentials) (*Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch s.Format {
	case FormatOktaAPI:
		return loadOkta(ctx, s, cfg, cred)
	case FormatGraphAPI:
		return loadGraph(ctx, s, cfg, cred)
	}
	data, err := readFile(s.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSource, err)
	}
	return parse(s.String(), data, s.Format, cfg)
}

// LoadAll reads every source in order. The credentials of every live
// source are read first, so that a missing or refused secret fails
// before any request. It fails on the first source that fails, returning
// no directory.
func LoadAll(ctx context.Context, specs []string, opts ...Option) ([]*Directory, error) {
	cfg := newConfig(opts)
	parsed := make([]Spec, len(specs))
	creds := make([]credentials, len(specs))
	for i, spec := range specs {
		s, err := ParseSpec(spec)
		if err != nil {
			return nil, err
		}
		if creds[i], err = readCredentials(s, cfg); err != nil {
			return nil, err
		}
		parsed[i] = s
	}
	dirs := make([]*Directory, 0, len(parsed))
	for i, s := range parsed {
		d, err := loadSpec(ctx, s, cfg, creds[i])
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// Parse reads an export file's content. source is the name shown for it;
// format may be "" to detect it. Errors wrap ErrBadSource.
func Parse(source string, data []byte, format Format, opts ...Option) (*Directory, error) {
	if format != "" && !slices.Contains(FileFormats, format) {
		return nil, fmt.Errorf("%w: %s: %q is not a file format (known: %s)", ErrBadSource, source, format, formatList())
	}
	return parse(source, data, format, newConfig(opts))
}

func parse(source string, data []byte, format Format, cfg *config) (*Directory, error) {
	d, err := parseData(source, data, format, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadSource, source, err)
	}
	d.Digest = fileDigest(data)
	return d, nil
}

func parseData(source string, data []byte, format Format, cfg *config) (*Directory, error) {
	var (
		t   *table
		err error
	)
	if format == "" {
		if format, t, err = detect(data, cfg.columns); err != nil {
			return nil, err
		}
	}
	if t == nil && isCSV(format) {
		if t, err = readTable(data); err != nil {
			return nil, err
		}
	}
	b := newBuilder(source, format)
	switch format {
	case FormatEntraCSV:
		err = parseEntraCSV(b, t)
	case FormatGraphJSON:
		err = parseGraphJSON(b, data)
	case FormatOktaJSON:
		err = parseOktaJSON(b, data)
	case FormatOktaCSV:
		err = parseOktaCSV(b, t)
	case FormatGoogleCSV:
		err = parseGoogleCSV(b, t)
	case FormatCSV:
		if cfg.columns == nil {
			return nil, errors.New("the csv format needs a column mapping (email=COL,status=COL) and the status words that mean active")
		}
		err = parseMappedCSV(b, t, *cfg.columns)
	}
	if err != nil {
		return nil, err
	}
	return b.done()
}

func isCSV(f Format) bool {
	return f == FormatEntraCSV || f == FormatOktaCSV || f == FormatGoogleCSV || f == FormatCSV
}

// readFile reads an export file, refusing one larger than maxFileSize.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxFileSize>>20)
	}
	return data, nil
}

// knownFormats describes what detection recognises, for messages.
const knownFormats = "known formats: entra-csv (userPrincipalName, accountEnabled), " +
	"google-csv (Email Address [Required], Status [READ ONLY]), " +
	"okta-csv (status, and login or email), " +
	`graph-json ({"value":[users]}), okta-json ([{"status","profile"}]), ` +
	"or csv:PATH with a column mapping email=COL,status=COL"

// detect tells a file's format from its shape: JSON by its top-level
// value, CSV by its header row. A ColumnMap that fits the header wins.
func detect(data []byte, cols *ColumnMap) (Format, *table, error) {
	s := bytes.TrimSpace(bytes.TrimPrefix(data, []byte(utf8BOM)))
	if len(s) == 0 {
		return "", nil, errors.New("no people: the file is empty")
	}
	switch s[0] {
	case '{':
		f, err := detectJSONObject(s)
		return f, nil, err
	case '[':
		f, err := detectJSONArray(s)
		return f, nil, err
	}
	t, err := readTable(data)
	if err != nil {
		return "", nil, err
	}
	if cols != nil && cols.fits(t) {
		return FormatCSV, t, nil
	}
	has := func(keys ...string) bool { return t.col(keys...) >= 0 }
	switch {
	case has("emailaddress") && has("status"):
		return FormatGoogleCSV, t, nil
	case has("userprincipalname") && has("accountenabled"):
		return FormatEntraCSV, t, nil
	case has("status") && (has(oktaLoginKeys...) || has(oktaEmailKeys...)):
		return FormatOktaCSV, t, nil
	}
	if !slices.ContainsFunc(t.keys, func(k string) bool {
		return strings.Contains(k, "mail") || strings.Contains(k, "login") || strings.Contains(k, "userprincipalname") || strings.Contains(k, "username")
	}) {
		return "", nil, fmt.Errorf("no email column: found %s; %s", t.columnsFound(), knownFormats)
	}
	return "", nil, fmt.Errorf("header row not recognised: found %s; %s", t.columnsFound(), knownFormats)
}

// detectJSONObject recognises a Graph page; it names the error responses
// of Okta and Graph that were saved instead of a list.
func detectJSONObject(s []byte) (Format, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(s, &obj); err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	if _, ok := obj["value"]; ok {
		return FormatGraphJSON, nil
	}
	if msg, ok := obj["errorSummary"]; ok {
		return "", fmt.Errorf("the file holds an Okta error response, not users: %s", msg)
	}
	if _, ok := obj["error"]; ok {
		return "", errors.New("the file holds an error response, not users")
	}
	return "", fmt.Errorf("JSON object not recognised: keys %s; %s", keysOf(obj), knownFormats)
}

// detectJSONArray recognises an array of Okta users or of Graph users by
// its first element.
func detectJSONArray(s []byte) (Format, error) {
	var arr []map[string]json.RawMessage
	if err := json.Unmarshal(s, &arr); err != nil {
		return "", fmt.Errorf("JSON array not recognised (want an array of users): %w", err)
	}
	if len(arr) == 0 {
		return "", errors.New("no people: the array is empty")
	}
	first := arr[0]
	_, status := first["status"]
	_, profile := first["profile"]
	_, upn := first["userPrincipalName"]
	_, enabled := first["accountEnabled"]
	switch {
	case status && profile:
		return FormatOktaJSON, nil
	case upn || enabled:
		return FormatGraphJSON, nil
	}
	return "", fmt.Errorf("JSON array of objects not recognised: keys %s; %s", keysOf(first), knownFormats)
}

func keysOf(m map[string]json.RawMessage) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	if len(keys) > 12 {
		keys = append(keys[:12], "…")
	}
	return strings.Join(keys, ", ")
}
