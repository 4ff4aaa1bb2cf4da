package keys

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/tokenreview/webhook/shared/config"
)

// maxBody caps a discovery document or a JWKS. Real sets are a few KiB;
// a larger answer is refused rather than parsed (jwkset's own fetch has no
// size limit, so cappedTransport enforces this one under it).
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

// load fetches the issuer's JWKS and returns its usable keys. With
// discovery, the jwks_uri of the last good discovery is reused; a failed
// JWKS fetch forgets it so the next load discovers again.
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
	entries, err := src.loadJWKS(ctx, jwksURL, log)
	if err == nil {
		if src.jwksURL == "" {
			src.mu.Lock()
			src.discovered = jwksURL
			src.mu.Unlock()
		}
		return entries, nil
	}
	src.mu.Lock()
	src.discovered = ""
	src.mu.Unlock()
	return nil, fmt.Errorf("jwks: %w", err)
}

// loadJWKS downloads and parses the JWK Set at u with a fresh jwkset HTTP
// storage (jwkset has no public refresh: a new storage per fetch, its keys
// then swapped in atomically as a snapshot, is the way to refresh without
// its ticker goroutine), then admits its keys through keyfunc and this
// package's rules.
func (src *source) loadJWKS(ctx context.Context, u string, log *slog.Logger) ([]entry, error) {
	// The storage's ctx would also end its refresh goroutine. With
	// RefreshInterval 0 jwkset v0.11.4 starts none (the fetch happens
	// inside NewStorageFromHTTP, synchronously); cancelling anyway keeps
	// that true should the option ever be set.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, rec := withCappedTransport(src.client)
	store, err := jwkset.NewStorageFromHTTP(u, jwkset.HTTPClientStorageOptions{
		Client:      client,
		Ctx:         sctx,
		HTTPTimeout: src.timeout,
		// No background refresh: Lambda freezes goroutines between
		// invocations; refreshes start from Key calls instead.
		RefreshInterval: 0,
		// A failed fetch must be an error (keep the previous keys, report
		// it), not an empty key set and a log line.
		NoErrorReturnFirstHTTPReq: false,
		// Keys jwkset does not support (Ed448, secp256k1, unknown kty) are
		// skipped, not fatal to the set.
		RequireSupportedKeys: false,
		// An unregistered use or key_ops value would make jwkset refuse
		// the whole set; keyfunc's use whitelist and our key_ops rule
		// reject such a key alone instead.
		ValidateOptions: jwkset.JWKValidateOptions{SkipUse: true, SkipKeyOps: true},
	})
	if err != nil {
		if rec.status != 0 && rec.status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d: %w", u, rec.status, err)
		}
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	leaked, published, err := inspectJWKS(rec.body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return admit(sctx, store, leaked, published, src.issuer, log)
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
// most maxBody bytes (the discovery document; keyfunc has no discovery).
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
	body, err := readCapped(resp)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return body, nil
}
