package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.uber.org/zap"
)

// oktaPageLimit is the page size asked of Okta's user list.
const oktaPageLimit = "200"

// oktaDeprovisionedFilter lists deactivated users: Okta's plain user list
// leaves them out.
const oktaDeprovisionedFilter = `status eq "DEPROVISIONED"`

// loadOkta downloads every user of an Okta org: the plain list (every
// status but DEPROVISIONED) and then the deactivated users, both paged
// through their Link: rel="next" headers, with the token read beforehand.
func loadOkta(ctx context.Context, s Spec, cfg *config, cred credentials) (*Directory, error) {
	src := s.String()
	token, from := cred.secret, cred.from
	base, err := url.Parse(s.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadSource, src, err)
	}
	f := &fetcher{cfg: cfg, source: src, secrets: []string{token}}
	var users []oktaUser
	for _, filter := range []string{"", oktaDeprovisionedFilter} {
		q := url.Values{"limit": {oktaPageLimit}}
		if filter != "" {
			q.Set("filter", filter)
		}
		first := base.JoinPath("/api/v1/users")
		first.RawQuery = q.Encode()
		got, err := oktaList(ctx, f, token, base, first)
		if err != nil {
			what := "user list"
			if filter != "" {
				what = "list of deactivated users"
			}
			return nil, liveError(src, what, err, "check the API token from "+from, token)
		}
		users = append(users, got...)
	}
	users = latestByID(users)
	b := newBuilder(src, FormatOktaAPI)
	if err := addOktaUsers(b, users, 0); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadSource, src, err)
	}
	return finishLive(b)
}

// oktaList reads one list from its first page to its last.
func oktaList(ctx context.Context, f *fetcher, token string, base, first *url.URL) ([]oktaUser, error) {
	var users []oktaUser
	p := newPager(base)
	for page, u := 1, first; u != nil; page++ {
		resp, err := f.do(ctx, func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "SSWS "+token)
			req.Header.Set("Accept", "application/json")
			return req, nil
		})
		if err != nil {
			return nil, fmt.Errorf("page %d (after %d users): %w", page, len(users), err)
		}
		var got []oktaUser
		if err := json.Unmarshal(resp.body, &got); err != nil {
			return nil, fmt.Errorf("page %d: not a list of users: %w", page, err)
		}
		users = append(users, got...)
		f.cfg.log.Debug("identity provider page read", zap.String("source", f.source), zap.Int("page", page), zap.Int("users", len(got)))
		link := nextLink(resp.header)
		if link == "" {
			break
		}
		if u, err = p.next(u, link); err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
	}
	return users, nil
}

// latestByID keeps one user per id, the one read last: a user deactivated
// while the plain list was read shows up in both lists.
func latestByID(users []oktaUser) []oktaUser {
	last := make(map[string]int, len(users))
	for i, u := range users {
		if u.ID != "" {
			last[u.ID] = i
		}
	}
	out := users[:0:0]
	for i, u := range users {
		if u.ID == "" || last[u.ID] == i {
			out = append(out, u)
		}
	}
	return out
}

// nextLink returns the URL of the Link header entry with rel="next", or
// "". Entries may share one header, separated by commas, or come in
// several.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, entry := range splitLinkHeader(v) {
			target, params, ok := strings.Cut(entry, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(param, "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				rels := strings.Fields(strings.Trim(strings.TrimSpace(val), `"`))
				if slices.ContainsFunc(rels, func(r string) bool { return strings.EqualFold(r, "next") }) {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

// splitLinkHeader splits a Link header value on the commas between its
// entries, not those inside <…>.
func splitLinkHeader(v string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '<':
			depth++
		case '>':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// finishLive sorts a live directory's people, sets its digest, and
// refuses an empty one.
func finishLive(b *builder) (*Directory, error) {
	d, err := b.done()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadSource, b.dir.Source, err)
	}
	slices.SortFunc(d.People, func(a, b Person) int { return strings.Compare(a.Email, b.Email) })
	d.Digest = CanonicalDigest(d.People)
	return d, nil
}
