package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/secret"
)

// SessionCookieName is the cookie that carries Clay's session.
const SessionCookieName = "claysession"

// Cookie is one cookie of a storage state, in Playwright's format. Its
// String method never shows the value.
type Cookie struct {
	Name     string  `json:"name"`
	Value    string  `json:"value"`
	Domain   string  `json:"domain"`
	Path     string  `json:"path"`
	Expires  float64 `json:"expires"`
	HTTPOnly bool    `json:"httpOnly"`
	Secure   bool    `json:"secure"`
	SameSite string  `json:"sameSite,omitempty"`
}

// String describes the cookie without its value.
func (c Cookie) String() string {
	return fmt.Sprintf("%s (domain %s, path %s, value redacted)", c.Name, c.Domain, c.Path)
}

// GoString keeps %#v from printing the value too.
func (c Cookie) GoString() string { return c.String() }

// ExpiresAt returns the cookie's expiry, or the zero time for a cookie that
// lasts for the browser session.
func (c Cookie) ExpiresAt() time.Time {
	if c.Expires <= 0 {
		return time.Time{}
	}
	sec := int64(c.Expires)
	return time.Unix(sec, int64((c.Expires-float64(sec))*1e9))
}

// NameValue is one localStorage entry.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Origin is the localStorage of one origin.
type Origin struct {
	Origin       string      `json:"origin"`
	LocalStorage []NameValue `json:"localStorage"`
}

// StorageState is a Playwright-compatible storage-state file:
// {"cookies": [...], "origins": [...]}.
type StorageState struct {
	Cookies []Cookie `json:"cookies"`
	Origins []Origin `json:"origins"`
}

// String summarizes the state without any secret.
func (s *StorageState) String() string {
	names := make([]string, 0, len(s.Cookies))
	for _, c := range s.Cookies {
		names = append(names, c.Name)
	}
	return fmt.Sprintf("storage state with %d cookies (%s) and %d origins", len(s.Cookies), strings.Join(names, ", "), len(s.Origins))
}

// SessionCookie returns the Clay session cookie, if the state has one.
func (s *StorageState) SessionCookie() (Cookie, bool) {
	for _, c := range s.Cookies {
		if c.Name == SessionCookieName {
			return c, true
		}
	}
	return Cookie{}, false
}

// maxSessionFile bounds what LoadSession reads: a storage state is small.
const maxSessionFile = 4 << 20

// LoadSession reads a storage-state file. The file holds a credential and
// is read by secret.Read: it is refused, with an error wrapping ErrUsage
// and one of secret's reasons (secret.ErrPermissive for a file group or
// others may read), unless it is a regular file (links followed) of the
// effective user, mode 0600 or stricter, of at most 4 MiB. A file that is
// malformed or holds no cookies is refused with ErrUsage too. A Clay
// session cookie that has already expired gives ErrLoginRequired.
func LoadSession(path string, now time.Time) (*StorageState, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no session file: set --session or CLAY_SESSION (create one with `agent login`)", ErrUsage)
	}
	data, err := secret.Read(path, secret.Options{Kind: "session file", MaxSize: maxSessionFile})
	if errors.Is(err, secret.ErrNotFound) {
		return nil, fmt.Errorf("%w (create it with `agent login`)", err)
	}
	if err != nil {
		return nil, err
	}
	var s StorageState
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&s); err != nil {
		// never quote the file: it holds secrets
		return nil, fmt.Errorf("%w: session file %s is not a storage-state JSON file ({\"cookies\":[...],\"origins\":[...]})", ErrUsage, path)
	}
	if len(s.Cookies) == 0 {
		return nil, fmt.Errorf("%w: session file %s holds no cookies", ErrUsage, path)
	}
	for i, c := range s.Cookies {
		if c.Name == "" {
			return nil, fmt.Errorf("%w: session file %s: cookie %d has no name", ErrUsage, path, i+1)
		}
	}
	if c, ok := s.SessionCookie(); ok {
		if exp := c.ExpiresAt(); !exp.IsZero() && exp.Before(now) {
			return nil, fmt.Errorf("%w: the session in %s expired at %s; run `agent login` or export a fresh session", ErrLoginRequired, path, exp.UTC().Format(time.RFC3339))
		}
	}
	return &s, nil
}

// Save writes the state atomically with mode 0600.
func (s *StorageState) Save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the session: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the session file: %w", err)
	}
	return nil
}
