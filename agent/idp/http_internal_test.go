package idp

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"nothing", nil, 0},
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"okta reset against Date", map[string]string{
			"X-Rate-Limit-Reset": "1748779230", // 12:00:30 UTC
			"Date":               time.Unix(1748779210, 0).UTC().Format(http.TimeFormat),
		}, 21 * time.Second},
		{"okta reset against now", map[string]string{"X-Rate-Limit-Reset": "1748779205"}, 6 * time.Second},
		{"Retry-After wins", map[string]string{"Retry-After": "2", "X-Rate-Limit-Reset": "1748779230"}, 2 * time.Second},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		assert.Equal(t, tt.want, retryAfter(h, now), tt.name)
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct {
		name  string
		links []string
		want  string
	}{
		{"none", nil, ""},
		{"self only", []string{`<https://a.okta.com/api/v1/users?limit=200>; rel="self"`}, ""},
		{"two headers", []string{
			`<https://a.okta.com/api/v1/users?limit=200>; rel="self"`,
			`<https://a.okta.com/api/v1/users?after=00u9&limit=200>; rel="next"`,
		}, "https://a.okta.com/api/v1/users?after=00u9&limit=200"},
		{"one header, comma in the URL", []string{
			`<https://a.okta.com/api/v1/users?limit=200&x=a,b>; rel="self", <https://a.okta.com/api/v1/users?after=1,2>; rel=next`,
		}, "https://a.okta.com/api/v1/users?after=1,2"},
		{"several rels", []string{`</next>; title="x"; REL="prev next"`}, "/next"},
		{"no brackets", []string{`https://a.okta.com/next; rel="next"`}, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, l := range tt.links {
			h.Add("Link", l)
		}
		assert.Equal(t, tt.want, nextLink(h), tt.name)
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"errorCode":"E0000011","errorSummary":"Invalid token provided"}`, "Invalid token provided"},
		{`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges."}}`, "Authorization_RequestDenied: Insufficient privileges."},
		{`{"error":{"code":"Only_Code"}}`, "Only_Code"},
		{`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`, "invalid_client"},
		{`{"errorSummary":"line one\nline two \u001b[31m"}`, "line one"},
		{`{"errorSummary":"a\u0007b"}`, "ab"},
		{`<html>`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, errorMessage([]byte(tt.body)), tt.body)
	}
}

func TestHeaderKey(t *testing.T) {
	for in, want := range map[string]string{
		"Email Address [Required]": "emailaddress",
		"Status [READ ONLY]":       "status",
		"\ufeffuserPrincipalName":  "userprincipalname",
		"User principal name":      "userprincipalname",
		"profile.login":            "profilelogin",
		"Recovery Phone [MUST BE]": "recoveryphone",
		"[odd]":                    "odd",
		"E-Mail":                   "email",
		" account_enabled ":        "accountenabled",
	} {
		assert.Equal(t, want, headerKey(in), in)
	}
}
