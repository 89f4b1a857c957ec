package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// healthcheck defaults: `agent serve`'s /healthz inside its container.
const (
	defaultHealthcheckURL     = "http://127.0.0.1:8080/healthz"
	defaultHealthcheckTimeout = 3 * time.Second
	// healthcheckBodyLimit bounds how much of a failed answer is read.
	healthcheckBodyLimit = 4 << 10
)

// httpDoer sends one HTTP request: an *http.Client, or a test's fake.
type httpDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// healthcheckOptions are what `agent healthcheck` runs with.
type healthcheckOptions struct {
	streams streams
	// url is the URL to GET; timeout bounds the whole request.
	url     string
	timeout time.Duration
	// client sends the request.
	client httpDoer
}

// validate checks the flags: an absolute http(s) URL, a positive timeout.
func (o *healthcheckOptions) validate() error {
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--url %q is not an absolute http(s) URL", o.url)
	}
	if o.timeout <= 0 {
		return usageError("--timeout must be positive, got %s", o.timeout)
	}
	return nil
}

// newHealthcheckCmd builds `agent healthcheck`; runF, when not nil, runs
// instead of healthcheckRun.
func newHealthcheckCmd(a *app, runF func(context.Context, *healthcheckOptions) error) *cobra.Command {
	opts := &healthcheckOptions{streams: a.streams(), client: http.DefaultClient}
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "GET a URL and exit 0 on 200 OK, 1 otherwise (for container health checks)",
		Long: `healthcheck fetches --url and exits with 0 when the answer is 200 OK, and with 1
and one line on stderr otherwise: another status (with the reason from a
/healthz body), no answer within --timeout, or no connection. It exists because
the container image has no curl or wget.`,
		Example: `  agent healthcheck --url http://127.0.0.1:8080/healthz
  HEALTHCHECK CMD ["/usr/local/bin/agent","healthcheck","--url","http://127.0.0.1:8080/healthz"]`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return opts.validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return healthcheckRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.url, "url", defaultHealthcheckURL, "the URL to GET")
	// A local flag of its own: the global --timeout bounds browser steps.
	cmd.Flags().DurationVar(&opts.timeout, "timeout", defaultHealthcheckTimeout, "give up after this long")
	return cmd
}

// healthcheckRun GETs the URL and prints its status when it is 200 OK;
// anything else is exit code 1 with one line saying why.
func healthcheckRun(ctx context.Context, opts *healthcheckOptions) error {
	status, err := checkHealth(ctx, opts.client, opts.url, opts.timeout)
	if err != nil {
		return &exitError{code: exitFailed, msg: "healthcheck: " + err.Error()}
	}
	fmt.Fprintf(opts.streams.Out, "ok: %s: %s\n", opts.url, status)
	return nil
}

// checkHealth GETs target and returns its status line when it is 200 OK.
// Any other outcome is an error of one line.
func checkHealth(ctx context.Context, client httpDoer, target string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", target, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: no answer within %s", target, timeout)
		}
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, healthcheckBodyLimit))
	status := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode == http.StatusOK {
		return status, nil
	}
	if why := healthReason(body); why != "" {
		status += ": " + why
	}
	return "", fmt.Errorf("%s: %s", target, status)
}

// healthReason extracts why a /healthz answer is unhealthy: the "reason"
// and "last_error" of its JSON body, else the body's first line. It is not
// escaped: the error it goes into is, when it is reported.
func healthReason(body []byte) string {
	var st struct {
		Reason    string `json:"reason"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal(body, &st); err == nil && (st.Reason != "" || st.LastError != "") {
		switch {
		case st.Reason == "":
			return collapseSpace(st.LastError)
		case st.LastError == "":
			return st.Reason
		}
		return st.Reason + " (" + collapseSpace(st.LastError) + ")"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	const maxLen = 200
	if first = collapseSpace(first); len(first) > maxLen {
		first = first[:maxLen] + "…"
	}
	return first
}
