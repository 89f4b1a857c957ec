package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The secrets of the secret-file tests. No message may quote one.
const (
	secretAuditKey   = "AUDITKEY-0123456789abcdef0123456789abcdef"
	secretOktaToken  = "00OKTATOKEN-0123456789abcdef"
	secretEntraValue = "ENTRASECRET~0123456789abcdef"
)

// noNetwork is an HTTP server that counts every request it gets and
// refuses it: the identity providers' URLs (and, through HTTPS_PROXY,
// the ones a test cannot change) point at it.
type noNetwork struct {
	srv      *httptest.Server
	requests atomic.Int64
}

func startNoNetwork(t *testing.T) *noNetwork {
	t.Helper()
	n := &noNetwork{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.requests.Add(1)
		http.Error(w, "no request is expected", http.StatusForbidden)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

// secretFiles are one file of each secret the agent reads, all of mode
// 0600 and valid, in one directory.
type secretFiles struct {
	dir                          string
	session, auditKey, scimToken string
	tlsCert, tlsKey              string
	oktaToken, entraSecret       string
}

func writeSecretFiles(t *testing.T) *secretFiles {
	t.Helper()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	f := &secretFiles{dir: dir, session: p("session.json"), auditKey: p("audit-key"), scimToken: p("scim-token"),
		tlsCert: p("tls.crt"), tlsKey: p("tls.key"), oktaToken: p("okta-token"), entraSecret: p("entra-secret")}
	writeState(t, f.session, time.Now().Add(24*time.Hour), 0o600)
	certPEM, keyPEM := selfSignedPair(t)
	for path, content := range map[string][]byte{
		f.auditKey: []byte(secretAuditKey), f.scimToken: []byte(scimToken + "\n"),
		f.tlsCert: certPEM, f.tlsKey: keyPEM,
		f.oktaToken: []byte(secretOktaToken + "\n"), f.entraSecret: []byte(secretEntraValue + "\n"),
	} {
		require.NoError(t, os.WriteFile(path, content, 0o600))
	}
	return f
}

// selfSignedPair is a certificate for 127.0.0.1 and its private key, in
// PEM.
func selfSignedPair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// opened copies the secret at path to a file of mode mode, and returns
// the copy's path; with link, the path of a symbolic link to the copy (as
// a Kubernetes Secret volume gives it).
func opened(t *testing.T, path string, mode os.FileMode, link bool) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	cp := fmt.Sprintf("%s.%o", path, mode)
	require.NoError(t, os.WriteFile(cp, data, 0o600))
	require.NoError(t, os.Chmod(cp, mode))
	if !link {
		return cp
	}
	l := cp + ".link"
	require.NoError(t, os.Symlink(cp, l))
	return l
}

// secretCommand is a command line that reads one secret, built around
// the secret's path.
type secretCommand struct {
	name string
	// secret is the valid 0600 file whose copies are refused
	secret func(f *secretFiles) string
	args   func(f *secretFiles, idp, secret string) []string
	// process runs the command line in a process of its own, with
	// HTTPS_PROXY and HTTP_PROXY at the server that refuses everything:
	// Entra's URLs cannot be changed from the command line
	process bool
}

// secretCommands are a command line for every secret the agent reads,
// each with every other secret valid, the browser at noBrowser and the
// identity providers at idp.
func secretCommands() []secretCommand {
	globals := func(f *secretFiles, session string) []string {
		return []string{"--chrome", noBrowser, "--artifacts-dir", filepath.Join(f.dir, "artifacts"), "--base-url", "http://127.0.0.1:9",
			"--workspace", "1234", "--session", session}
	}
	mutate := func(f *secretFiles, session, key string) []string {
		return append([]string{"offboard", "--email", "a@acme.test", "--yes", "--audit-log", filepath.Join(f.dir, "audit.jsonl"),
			"--lock-dir", filepath.Join(f.dir, "locks"), "--evidence-dir", filepath.Join(f.dir, "evidence"), "--audit-key-file", key},
			globals(f, session)...)
	}
	scim := func(f *secretFiles, session, token, tlsKey, auditKey string) []string {
		return append([]string{"scim", "serve", "--listen", "127.0.0.1:0", "--state-dir", filepath.Join(f.dir, "scim"),
			"--token-file", token, "--tls-cert", f.tlsCert, "--tls-key", tlsKey, "--audit-log", filepath.Join(f.dir, "audit.jsonl"),
			"--audit-key-file", auditKey, "--lock-dir", filepath.Join(f.dir, "locks")}, globals(f, session)...)
	}
	okta := func(f *secretFiles, idp, session, token string) []string {
		return append([]string{"reconcile", "--idp", "okta:" + idp, "--okta-token-file", token}, globals(f, session)...)
	}
	entra := func(f *secretFiles, session, secret string) []string {
		return append([]string{"reconcile", "--idp", "entra:acme.onmicrosoft.com", "--entra-client-id", "11111111-2222-3333-4444-555555555555",
			"--entra-secret-file", secret}, globals(f, session)...)
	}
	session := func(f *secretFiles) string { return f.session }
	return []secretCommand{
		{name: "session/list", secret: session, args: func(f *secretFiles, _, s string) []string { return append([]string{"list"}, globals(f, s)...) }},
		{name: "session/offboard", secret: session, args: func(f *secretFiles, _, s string) []string { return mutate(f, s, f.auditKey) }},
		{name: "session/snapshot", secret: session, args: func(f *secretFiles, _, s string) []string {
			return append([]string{"snapshot", "--dir", filepath.Join(f.dir, "snapshots"), "--lock-dir", filepath.Join(f.dir, "locks")}, globals(f, s)...)
		}},
		{name: "session/reconcile, before the identity provider", secret: session, args: func(f *secretFiles, idp, s string) []string {
			return okta(f, idp, s, f.oktaToken)
		}},
		{name: "session/scim serve", secret: session, args: func(f *secretFiles, _, s string) []string {
			return scim(f, s, f.scimToken, f.tlsKey, f.auditKey)
		}},
		{name: "audit key/offboard", secret: func(f *secretFiles) string { return f.auditKey }, args: func(f *secretFiles, _, k string) []string {
			return mutate(f, f.session, k)
		}},
		{name: "audit key/audit verify", secret: func(f *secretFiles) string { return f.auditKey }, args: func(f *secretFiles, _, k string) []string {
			return []string{"audit", "verify", "--audit-log", filepath.Join(f.dir, "audit.jsonl"), "--key-file", k}
		}},
		{name: "audit key/scim serve", secret: func(f *secretFiles) string { return f.auditKey }, args: func(f *secretFiles, _, k string) []string {
			return scim(f, f.session, f.scimToken, f.tlsKey, k)
		}},
		{name: "SCIM token/scim serve", secret: func(f *secretFiles) string { return f.scimToken }, args: func(f *secretFiles, _, tok string) []string {
			return scim(f, f.session, tok, f.tlsKey, f.auditKey)
		}},
		{name: "TLS key/scim serve", secret: func(f *secretFiles) string { return f.tlsKey }, args: func(f *secretFiles, _, k string) []string {
			return scim(f, f.session, f.scimToken, k, f.auditKey)
		}},
		{name: "Okta token/reconcile", secret: func(f *secretFiles) string { return f.oktaToken }, args: func(f *secretFiles, idp, tok string) []string {
			return okta(f, idp, f.session, tok)
		}},
		{name: "Okta token/plan", secret: func(f *secretFiles) string { return f.oktaToken }, args: func(f *secretFiles, idp, tok string) []string {
			return append([]string{"plan", "--out", filepath.Join(f.dir, "plan.json")}, okta(f, idp, f.session, tok)[1:]...)
		}},
		{name: "Okta token/serve", secret: func(f *secretFiles) string { return f.oktaToken }, args: func(f *secretFiles, idp, tok string) []string {
			return append([]string{"serve", "--snapshot-every", "1h", "--dir", filepath.Join(f.dir, "snapshots"), "--listen", "127.0.0.1:0",
				"--lock-dir", filepath.Join(f.dir, "locks")}, okta(f, idp, f.session, tok)[1:]...)
		}},
		{name: "Entra secret/reconcile", secret: func(f *secretFiles) string { return f.entraSecret }, process: true,
			args: func(f *secretFiles, _, s string) []string { return entra(f, f.session, s) }},
		{name: "Entra secret/plan", secret: func(f *secretFiles) string { return f.entraSecret }, process: true,
			args: func(f *secretFiles, _, s string) []string {
				return append([]string{"plan", "--out", filepath.Join(f.dir, "plan.json")}, entra(f, f.session, s)[1:]...)
			}},
	}
}

// runSecretCommand runs args in this process, or in a process of its own
// whose proxy is idp; that process is killed as soon as stop says so
// (stop may be nil).
func runSecretCommand(t *testing.T, c secretCommand, idp string, args []string, stop func() bool) cliResult {
	t.Helper()
	if !c.process {
		return runCLI(t, "", args...)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{envRunAsMain + "=1", "HTTPS_PROXY=" + idp, "HTTP_PROXY=" + idp, "NO_PROXY=", "CHROME_PATH=" + noBrowser,
		"HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-exited:
			waiting = false
		case <-time.After(20 * time.Millisecond):
			if stop != nil && stop() {
				_ = cmd.Process.Kill()
				stop = nil
			}
		}
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
}

// TestSecretFileOpenToGroupOrOthersIsRefused: every secret the agent reads
// from a file (the session file, the audit key, the SCIM token and TLS
// key, the Okta token and the Entra client secret) is refused when group
// or others may read it, directly or through a link: exit 2, one line
// naming the file and `chmod 600`, before any browser starts and before
// any request to an identity provider.
func TestSecretFileOpenToGroupOrOthersIsRefused(t *testing.T) {
	clearAgentEnv(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("CLAY_AUDIT_LOG", "")
	idps := startNoNetwork(t)
	for _, c := range secretCommands() {
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
			for _, link := range []bool{false, true} {
				name := fmt.Sprintf("%s/%04o", c.name, mode)
				if link {
					name += " through a link"
				}
				t.Run(name, func(t *testing.T) {
					f := writeSecretFiles(t)
					path := opened(t, c.secret(f), mode, link)
					before := idps.requests.Load()
					r := runSecretCommand(t, c, idps.srv.URL, c.args(f, idps.srv.URL, path), nil)
					assertCLI(t, r, cliWant{code: exitUsage, quietStdout: true,
						stderr: []string{path, fmt.Sprintf("mode %04o", mode), "chmod 600 " + path}})
					r.oneErrorLine(t)
					assert.NotContains(t, r.stderr, noBrowser, "no browser was started")
					assert.NoDirExists(t, filepath.Join(f.dir, "artifacts"), "no browser, no artifacts")
					assert.Equal(t, before, idps.requests.Load(), "no request to an identity provider")
					for _, s := range []string{secretValue, secretAuditKey, secretOktaToken, secretEntraValue, scimToken, "PRIVATE KEY"} {
						assert.NotContains(t, r.stderr, s, "never the secret")
					}
				})
			}
		}
	}
}

// TestSecretCommandsGoOnWithPrivateFiles is the control of
// TestSecretFileOpenToGroupOrOthersIsRefused: with every secret of mode
// 0600 the same command lines get past the secrets, to the browser (which
// does not exist) or to the identity provider (which refuses), so the
// refusals above are the secrets' and nothing else's.
func TestSecretCommandsGoOnWithPrivateFiles(t *testing.T) {
	clearAgentEnv(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("CLAY_AUDIT_LOG", "")
	idps := startNoNetwork(t)
	for _, c := range secretCommands() {
		if strings.Contains(c.name, "serve") {
			// a service that got past its secrets keeps running; the
			// TLS key pair is proven by TestSCIMServesTLSWithItsKeyFile
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			f := writeSecretFiles(t)
			before := idps.requests.Load()
			requested := func() bool { return idps.requests.Load() > before }
			r := runSecretCommand(t, c, idps.srv.URL, c.args(f, idps.srv.URL, c.secret(f)), requested)
			reached := r.code == exitOK || strings.Contains(r.stderr, noBrowser) || requested()
			assert.True(t, reached, "the command got past its secrets: exit %d\n%s", r.code, r.stderr)
			assert.NotContains(t, r.stderr, "chmod 600")
		})
	}
}

// TestSCIMServesTLSWithItsKeyFile: the key pair read from --tls-cert and
// --tls-key (the key of mode 0600, through a link) is the one the
// service presents.
func TestSCIMServesTLSWithItsKeyFile(t *testing.T) {
	clearAgentEnv(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("CLAY_AUDIT_LOG", "")
	f := writeSecretFiles(t)
	key := opened(t, f.tlsKey, 0o600, true)
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		a := newApp(strings.NewReader(""), stdout, stderr)
		args := []string{"scim", "serve", "--listen", "127.0.0.1:0", "--state-dir", filepath.Join(f.dir, "scim"),
			"--token-file", f.scimToken, "--tls-cert", f.tlsCert, "--tls-key", key, "--audit-log", filepath.Join(f.dir, "audit.jsonl"),
			"--lock-dir", filepath.Join(f.dir, "locks"), "--chrome", noBrowser, "--base-url", "http://127.0.0.1:9",
			"--workspace", "1234", "--session", f.session}
		err := a.execute(ctx, args)
		if err != nil {
			a.reportError(err, exitCode(err))
		}
		done <- exitCode(err)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("scim serve did not stop within a minute")
		}
	})
	servingRE := regexp.MustCompile(`serving SCIM 2.0 on (https://\S+)/scim/v2`)
	var base string
	require.Eventually(t, func() bool {
		if m := servingRE.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "scim serve did not start: %s", stderr.String())

	certPEM, err := os.ReadFile(f.tlsCert)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(certPEM))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get(base + "/healthz")
	require.NoError(t, err, "a TLS handshake that trusts only the test's certificate")
	defer resp.Body.Close()
	require.NotNil(t, resp.TLS)
	block, _ := pem.Decode(certPEM)
	assert.Equal(t, block.Bytes, resp.TLS.PeerCertificates[0].Raw, "the certificate of --tls-cert")
}
