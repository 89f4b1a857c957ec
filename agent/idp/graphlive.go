package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// graphScope is the scope of a client-credentials token for Graph.
const graphScope = "https://graph.microsoft.com/.default"

// graphPageSize is the page size asked of Graph ($top); 999 is its
// maximum for users.
const graphPageSize = 999

// loadGraph downloads every user of an Entra tenant through Microsoft
// Graph: a client-credentials token, then GET /v1.0/users paged through
// @odata.nextLink; the credentials were read beforehand.
func loadGraph(ctx context.Context, s Spec, cfg *config, cred credentials) (*Directory, error) {
	src := s.String()
	clientID, secret, from := cred.clientID, cred.secret, cred.from
	login, err := url.Parse(cfg.graphLoginURL)
	if err != nil || login.Host == "" {
		return nil, fmt.Errorf("%w: %s: bad login URL", ErrBadOption, src)
	}
	base, err := url.Parse(cfg.graphBaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("%w: %s: bad Graph URL", ErrBadOption, src)
	}
	f := &fetcher{cfg: cfg, source: src, secrets: []string{secret}}
	token, err := graphToken(ctx, f, login, s.Tenant, clientID, secret)
	if err != nil {
		return nil, liveError(src, "token request", err, "check the client id and secret from $"+EnvAzureClientID+" and "+from, secret)
	}
	f.secrets = append(f.secrets, token)
	users, err := graphList(ctx, f, token, base)
	if err != nil {
		return nil, liveError(src, "user list", err, "the app needs the User.Read.All application permission, with admin consent", secret, token)
	}
	b := newBuilder(src, FormatGraphAPI)
	if err := addGraphUsers(b, users, 0); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadSource, src, err)
	}
	return finishLive(b)
}

// graphToken asks the Microsoft identity platform for an app-only token.
// A 4xx answer (a wrong secret, an unknown tenant or client) is an
// *HTTPError that matches ErrAuth.
func graphToken(ctx context.Context, f *fetcher, login *url.URL, tenant, clientID, secret string) (string, error) {
	endpoint := login.JoinPath(tenant, "oauth2", "v2.0", "token")
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {graphScope},
	}.Encode()
	resp, err := f.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	var he *HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 500 && he.Code != http.StatusTooManyRequests {
		// The token endpoint answers 400 for a wrong secret or an unknown
		// tenant as well as 401.
		return "", mark(err, ErrAuth)
	}
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(resp.body, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("the token endpoint's answer holds no access_token")
	}
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "Bearer") {
		return "", fmt.Errorf("unexpected token type %q", tok.TokenType)
	}
	return tok.AccessToken, nil
}

// graphList reads GET /v1.0/users from its first page to its last.
func graphList(ctx context.Context, f *fetcher, token string, base *url.URL) ([]graphUser, error) {
	first := base.JoinPath("v1.0", "users")
	first.RawQuery = url.Values{
		"$select": {graphSelect},
		"$top":    {strconv.Itoa(graphPageSize)},
	}.Encode()
	var users []graphUser
	p := newPager(base)
	for page, u := 1, first; u != nil; page++ {
		resp, err := f.do(ctx, func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "application/json")
			return req, nil
		})
		if err != nil {
			return nil, fmt.Errorf("page %d (after %d users): %w", page, len(users), err)
		}
		var got graphPage
		if err := json.Unmarshal(resp.body, &got); err != nil || got.Value == nil {
			return nil, fmt.Errorf("page %d: not a page of users", page)
		}
		users = append(users, *got.Value...)
		f.cfg.log.Debug("identity provider page read", zap.String("source", f.source), zap.Int("page", page), zap.Int("users", len(*got.Value)))
		if got.NextLink == "" {
			break
		}
		if u, err = p.next(u, got.NextLink); err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
	}
	return users, nil
}
