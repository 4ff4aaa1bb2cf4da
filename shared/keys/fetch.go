package keys

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tokenreview/webhook/shared/config"
)

// maxBody caps a discovery document or a JWKS. Real sets are a few KiB;
// a larger answer is refused rather than parsed (jwkset's own fetch has no
// size limit).
const maxBody = 1 << 20

// maxRedirects bounds redirects followed by the built client.
const maxRedirects = 3

// source fetches one issuer's JWKS over HTTPS, through discovery unless a
// jwksURL is configured.
type source struct {
	issuer       string
	client       *http.Client
	timeout      time.Duration
	discoveryURL string // "" when jwksURL is configured
	jwksURL      string // configured jwksURL, or "" for discovery

	mu         sync.Mutex
	discovered string // jwks_uri from the last good discovery
}

func newSource(iss *config.Issuer, timeout time.Duration, client *http.Client) (*source, error) {
	src := &source{issuer: iss.URL, timeout: timeout, client: client}
	switch {
	case iss.JWKSURL != "":
		if iss.DiscoveryURL != nil && *iss.DiscoveryURL != "" {
			return nil, errors.New("jwksURL excludes discoveryURL")
		}
		src.jwksURL = iss.JWKSURL
		if err := requireHTTPS("jwksURL", iss.JWKSURL); err != nil {
			return nil, err
		}
	default:
		src.discoveryURL = iss.DiscoveryDocumentURL()
	}
	if src.discoveryURL != "" {
		if err := requireHTTPS("discovery URL", src.discoveryURL); err != nil {
			return nil, err
		}
	}
	if src.client == nil {
		c, err := newClient(iss.CertificateAuthority, timeout)
		if err != nil {
			return nil, err
		}
		src.client = c
	}
	return src, nil
}

// newClient builds the issuer's own client: its trust is caPEM alone when
// set (the system roots otherwise), TLS 1.2 at least, the proxy from the
// environment, a timeout per request, and https-only redirects.
func newClient(caPEM string, timeout time.Duration) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("certificateAuthority holds no PEM certificate")
		}
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.TLSClientConfig = tlsConf
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to non-https URL %q refused", req.URL.Redacted())
			}
			return nil
		},
	}, nil
}

func requireHTTPS(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, raw, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s %q: must be an absolute https URL", what, raw)
	}
	return nil
}

// load fetches and parses the issuer's JWKS. With discovery, the jwks_uri
// of the last good discovery is reused; a failed JWKS fetch forgets it so
// the next load discovers again.
func (src *source) load(ctx context.Context, log *slog.Logger) ([]entry, error) {
	jwksURL := src.jwksURL
	if jwksURL == "" {
		src.mu.Lock()
		jwksURL = src.discovered
		src.mu.Unlock()
		if jwksURL == "" {
			u, err := src.discover(ctx)
			if err != nil {
				return nil, err
			}
			jwksURL = u
		}
	}
	body, err := src.get(ctx, jwksURL)
	if err == nil {
		var entries []entry
		entries, err = parseJWKS(body, false, src.issuer, log)
		if err == nil {
			if src.jwksURL == "" {
				src.mu.Lock()
				src.discovered = jwksURL
				src.mu.Unlock()
			}
			return entries, nil
		}
	}
	src.mu.Lock()
	src.discovered = ""
	src.mu.Unlock()
	return nil, fmt.Errorf("jwks: %w", err)
}

// discover reads the discovery document; its issuer must equal the
// configured URL exactly (as in OIDC Discovery §4.3 and kube-apiserver) and
// its jwks_uri must be https.
func (src *source) discover(ctx context.Context) (string, error) {
	body, err := src.get(ctx, src.discoveryURL)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery %s: decode: %w", src.discoveryURL, err)
	}
	if doc.Issuer != src.issuer {
		return "", fmt.Errorf("discovery %s: issuer %.256q does not equal the configured issuer", src.discoveryURL, doc.Issuer)
	}
	if err := requireHTTPS("discovery jwks_uri", doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery %s: %w", src.discoveryURL, err)
	}
	return doc.JWKSURI, nil
}

// get performs one GET bounded by the fetch timeout, expecting 200 and at
// most maxBody bytes.
func (src *source) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, src.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := src.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	if resp.ContentLength > maxBody {
		return nil, fmt.Errorf("GET %s: body of %d bytes exceeds the %d-byte limit", u, resp.ContentLength, maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", u, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: body exceeds the %d-byte limit", u, maxBody)
	}
	return body, nil
}
