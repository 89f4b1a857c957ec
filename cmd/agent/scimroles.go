package main

import (
	"io"
	"os"
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// maxRoleMapFile bounds the size of --entra-role-map-file.
const maxRoleMapFile = 64 << 10

// parseRoleMap reads mappings of app roles to Clay roles, one
// "AppRole=ClayRole" per entry (the last "=" separates them). Blank
// entries and entries starting with "#" are skipped. App roles compare
// ignoring case and surrounding space; one named twice must map to the
// same Clay role.
func parseRoleMap(entries []string, what string) (map[string]roster.Role, error) {
	out := map[string]roster.Role{}
	seen := map[string]string{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || strings.HasPrefix(e, "#") {
			continue
		}
		eq := strings.LastIndexByte(e, '=')
		if eq < 0 {
			return nil, usageError("%s: %s is not APP_ROLE=CLAY_ROLE", what, quoteFlagValue(e))
		}
		name := strings.TrimSpace(e[:eq])
		if name == "" {
			return nil, usageError("%s: %s names no app role", what, quoteFlagValue(e))
		}
		role, err := roster.ParseRole(e[eq+1:])
		if err != nil {
			return nil, usageError("%s: %s: %v", what, quoteFlagValue(e), err)
		}
		key := strings.ToLower(strings.Join(strings.Fields(name), " "))
		if prev, dup := seen[key]; dup && out[prev] != role {
			return nil, usageError("%s: the app role %q is mapped to both %s and %s", what, name, out[prev], role)
		}
		if _, dup := seen[key]; !dup {
			seen[key] = name
			out[name] = role
		}
	}
	if len(out) == 0 {
		return nil, usageError("%s maps no app role", what)
	}
	return out, nil
}

// loadRoleMap sets o.roleMap from --entra-role-map (comma-separated) or
// --entra-role-map-file (one mapping a line), which exclude each other.
func (o *scimServeOptions) loadRoleMap() error {
	switch {
	case o.roleMapFlag != "" && o.roleMapFile != "":
		return usageError("--entra-role-map and --entra-role-map-file exclude each other")
	case o.roleMapFlag != "":
		m, err := parseRoleMap(strings.Split(o.roleMapFlag, ","), "--entra-role-map")
		o.roleMap = m
		return err
	case o.roleMapFile != "":
		text, err := readRoleMapFile(o.roleMapFile)
		if err != nil {
			return err
		}
		m, err := parseRoleMap(strings.Split(text, "\n"), "--entra-role-map-file "+o.roleMapFile)
		o.roleMap = m
		return err
	}
	return nil
}

// readRoleMapFile reads a regular file of at most maxRoleMapFile bytes.
func readRoleMapFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usageError("--entra-role-map-file: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", usageError("--entra-role-map-file: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return "", usageError("--entra-role-map-file %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRoleMapFile+1))
	if err != nil {
		return "", usageError("--entra-role-map-file: %v", err)
	}
	if len(data) > maxRoleMapFile {
		return "", usageError("--entra-role-map-file %s is larger than %d bytes", path, maxRoleMapFile)
	}
	return string(data), nil
}

// Help of the role map flags.
const (
	roleMapUsage = "map Entra app roles (the users' roles attribute) to Clay roles, e.g. 'Admin=Admin,Member=Editor': " +
		"a request with a role not in the map is refused (400); without a map, roles are kept and not acted on"
	roleMapFileUsage = "as --entra-role-map, from a file: one APP_ROLE=CLAY_ROLE a line, # comments"
)
