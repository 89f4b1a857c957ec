package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoChrome is returned when no local browser can be found.
var ErrNoChrome = errors.New("no Chrome or Chromium found")

// InstallHint is the command that installs a browser on Debian.
const InstallHint = "apt-get update && apt-get install -y chromium"

// chromeCandidates lists, in order of preference, the binaries FindChrome
// tries. Debian's /usr/bin/chromium is a shell wrapper around the real
// binary, so the real one comes first.
var chromeCandidates = []string{
	"headless-shell",
	"/headless-shell/headless-shell",
	"/usr/lib/chromium/chromium",
	"chromium",
	"chromium-browser",
	"google-chrome",
	"google-chrome-stable",
	"/opt/google/chrome/chrome",
}

// FindChrome returns the first browser binary found among the candidates,
// or an error wrapping ErrNoChrome that tells how to install one.
func FindChrome() (string, error) {
	for _, c := range chromeCandidates {
		if filepath.IsAbs(c) {
			if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return c, nil
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			if real := debianRealBinary(p); real != "" {
				return real, nil
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: install one (%s) or set --chrome / CHROME_PATH, or attach to a running one with --chrome-url", ErrNoChrome, InstallHint)
}

// debianRealBinary maps Debian's /usr/bin/chromium wrapper to the binary
// it runs, when that exists.
func debianRealBinary(p string) string {
	if filepath.Base(p) != "chromium" {
		return ""
	}
	real := "/usr/lib/chromium/chromium"
	if st, err := os.Stat(real); err == nil && !st.IsDir() {
		return real
	}
	return ""
}
