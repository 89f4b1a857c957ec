package agent

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Defaults for Config.
const (
	DefaultBaseURL     = "https://app.clay.com"
	DefaultTeamPath    = "/workspaces/{workspace}/settings/team"
	DefaultStepTimeout = 15 * time.Second
)

// Config is everything the runtime needs to reach the Team page.
type Config struct {
	// BaseURL is the app's origin, e.g. https://app.clay.com.
	BaseURL string
	// Workspace is the numeric workspace id.
	Workspace string
	// TeamPath is the Team page's path; "{workspace}" is replaced.
	TeamPath string
	// SessionFile is a storage-state JSON file holding the session cookie.
	SessionFile string
	// ChromePath is a local Chrome or Chromium binary. Empty: FindChrome.
	ChromePath string
	// ChromeURL attaches to a running browser's DevTools endpoint instead
	// of starting one (http://host:9222 or ws://...).
	ChromeURL string
	// StepTimeout bounds every browser step.
	StepTimeout time.Duration
	// ArtifactsDir receives screenshots, HTML and console logs of failures.
	ArtifactsDir string
	// Logger receives the runtime's logs. Nil: no logs.
	Logger *zap.Logger
	// NoSandbox starts Chrome without its sandbox, for containers whose
	// seccomp profile gives it none. Root always runs without it.
	NoSandbox bool
	// WindowWidth and WindowHeight size the browser window.
	WindowWidth, WindowHeight int
}

// ValidWorkspace reports whether id has the form of a Clay workspace id:
// 1 to 20 ASCII digits.
func ValidWorkspace(id string) bool {
	if len(id) == 0 || len(id) > 20 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// TeamURL returns the Team page's absolute URL.
func (c Config) TeamURL() (string, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%w: base URL %q is not an absolute http(s) URL", ErrUsage, c.BaseURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: base URL %q must use http or https", ErrUsage, c.BaseURL)
	}
	p := c.TeamPath
	if p == "" {
		p = DefaultTeamPath
	}
	if strings.Contains(p, "{workspace}") {
		if c.Workspace == "" {
			return "", fmt.Errorf("%w: no workspace: set --workspace or CLAY_WORKSPACE", ErrUsage)
		}
		p = strings.ReplaceAll(p, "{workspace}", url.PathEscape(c.Workspace))
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return base + p, nil
}

// Validate checks the configuration before any browser starts.
func (c Config) Validate() error {
	if c.Workspace == "" {
		return fmt.Errorf("%w: no workspace: set --workspace or CLAY_WORKSPACE", ErrUsage)
	}
	if !ValidWorkspace(c.Workspace) {
		return fmt.Errorf("%w: workspace %q is not a Clay workspace id: the digits of app.clay.com/workspaces/ID", ErrUsage, c.Workspace)
	}
	if _, err := c.TeamURL(); err != nil {
		return err
	}
	if c.StepTimeout < 0 {
		return fmt.Errorf("%w: --timeout must be positive", ErrUsage)
	}
	if c.ChromeURL != "" {
		u, err := url.Parse(c.ChromeURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "ws" && u.Scheme != "https" && u.Scheme != "wss") {
			return fmt.Errorf("%w: --chrome-url %q must be an http:// or ws:// DevTools address", ErrUsage, c.ChromeURL)
		}
	}
	return nil
}

func (c Config) stepTimeout() time.Duration {
	if c.StepTimeout <= 0 {
		return DefaultStepTimeout
	}
	return c.StepTimeout
}

func (c Config) logger() *zap.Logger {
	if c.Logger == nil {
		return zap.NewNop()
	}
	return c.Logger
}
