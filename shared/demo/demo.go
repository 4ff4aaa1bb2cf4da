// Package demo owns `tokenreview serve`'s demo mode: a throw-away OIDC
// issuer that lives inside the server process, so that the webhook can be
// tried end to end with nothing else running.
//
// A Demo holds a fresh ES256 signing key, a self-signed TLS certificate for
// the listen address, a random endpoint bearer token, and renders:
//
//   - the issuer's discovery document and JWKS (Handler, mounted under
//     IssuerPath on the same listener as the webhook);
//   - a WebhookConfiguration trusting exactly that issuer, with the
//     certificate as the issuer's certificateAuthority (Config);
//   - signed tokens (Token), a curl command line (Curl) and a webhook
//     kubeconfig for kube-apiserver (Kubeconfig).
//
// Issuers must be https, and the demo keeps that rule rather than carving
// out an exception: the whole server, issuer included, is served over TLS
// with the generated certificate, and clients are told to trust it
// explicitly (curl --cacert, kubeconfig certificate-authority-data). Nothing
// here is meant for production: the key and the bearer token exist only in
// memory and in the files the caller chooses to write.
package demo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// IssuerPath is where the demo issuer lives on the server: its issuer URL
// is <server URL> + IssuerPath.
const IssuerPath = "/demo/issuer"

// WebhookPath is the path the kubeconfig and curl line post TokenReviews to.
const WebhookPath = "/tokenreview"

// DefaultAudience is the audience of demo tokens unless another is chosen.
const DefaultAudience = "tokenreview-demo"

// Demo is one demo issuer and the credentials around it. Create it with New.
type Demo struct {
	// ServerURL is the webhook server's base URL, "https://host:port".
	ServerURL string
	// IssuerURL is ServerURL + IssuerPath, the iss of the demo tokens.
	IssuerURL string
	// Audience is the aud of the demo tokens and the issuer's audience.
	Audience string
	// BearerToken is the endpoint token callers must present.
	BearerToken string
	// CertPEM is the server's self-signed certificate, the CA to trust.
	CertPEM []byte
	// Certificate is the server's TLS certificate and key.
	Certificate tls.Certificate

	key *ecdsa.PrivateKey
	kid string
}

// New creates a demo for a server listening on addr (the address actually
// bound, e.g. "127.0.0.1:8443"). An unspecified host (0.0.0.0, ::) is
// reached as 127.0.0.1. audience "" means DefaultAudience.
func New(addr net.Addr, audience string) (*Demo, error) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, fmt.Errorf("demo: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("demo: listen port %q: %w", port, err)
	}
	if audience == "" {
		audience = DefaultAudience
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("demo: generate signing key: %w", err)
	}
	cert, certPEM, err := selfSigned(host)
	if err != nil {
		return nil, err
	}
	serverURL := (&url.URL{Scheme: "https", Host: net.JoinHostPort(host, port)}).String()
	return &Demo{
		ServerURL:   serverURL,
		IssuerURL:   serverURL + IssuerPath,
		Audience:    audience,
		BearerToken: "demo-" + randomHex(24),
		CertPEM:     certPEM,
		Certificate: cert,
		key:         key,
		kid:         "demo-" + randomHex(8),
	}, nil
}

// KeyID is the kid of the demo signing key.
func (d *Demo) KeyID() string { return d.kid }

// WebhookURL is ServerURL + WebhookPath.
func (d *Demo) WebhookURL() string { return d.ServerURL + WebhookPath }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
