package main

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/clay-agent/clay-agent/agent/secret"
)

// The size limits of the secrets cmd/agent reads itself; the session
// file, the audit key and the identity providers' secrets have theirs in
// their packages.
const (
	// maxSCIMToken bounds the SCIM bearer token file.
	maxSCIMToken = 4 << 10
	// maxTLSKey bounds the TLS private key file: a PEM key is a few KiB.
	maxTLSKey = 64 << 10
)

// readTLSKeyPair reads the certificate and the private key of --tls-cert
// and --tls-key into a TLS configuration, the key by secret.Read (mode
// 0600 or stricter, owned by the effective user, links followed); nil
// without a key. Errors are usage errors that never quote the key.
func readTLSKeyPair(certFile, keyFile string) (*tls.Config, error) {
	if keyFile == "" {
		return nil, nil
	}
	key, err := secret.Read(keyFile, secret.Options{Kind: "TLS key", MaxSize: maxTLSKey})
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return nil, usageError("--tls-cert: %v", err)
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return nil, usageError("--tls-cert %s and --tls-key %s: %v", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
