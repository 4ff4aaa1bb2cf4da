package testissuer

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/tokenreview/webhook/shared/demo"
)

// Paths served by a Server.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/jwks"
)

// Server is a real OIDC issuer over TLS on 127.0.0.1, with its own fresh
// self-signed certificate (so no two servers trust each other's CA). Its issuer URL is its https URL. It serves
// DiscoveryPath (issuer, jwks_uri) and JWKSPath from a key list that tests
// change at will. All methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	keys     []*Key
	raw      []map[string]any
	body     []byte // replaces the JWKS body when non-nil
	issuer   string // discovery "issuer" override
	jwksURI  string // discovery "jwks_uri" override
	status   int    // non-zero: every request fails with it
	delay    time.Duration
	requests map[string]int
}

// NewServer starts an issuer publishing keys. Close it when done (or use
// Start, which registers the Close with t.Cleanup).
func NewServer(keys ...*Key) *Server {
	s := &Server{keys: keys, requests: map[string]int{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned()}}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	s.srv.StartTLS()
	return s
}

// Cleanuper is the part of testing.TB that Start needs.
type Cleanuper interface{ Cleanup(func()) }

// Start is NewServer with Close registered on t.
func Start(t Cleanuper, keys ...*Key) *Server {
	s := NewServer(keys...)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down; later fetches fail to connect.
func (s *Server) Close() { s.srv.Close() }

// URL is the issuer URL: "https://127.0.0.1:<port>", no trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// JWKSURL is URL() + JWKSPath.
func (s *Server) JWKSURL() string { return s.srv.URL + JWKSPath }

// DiscoveryURL is URL() + DiscoveryPath.
func (s *Server) DiscoveryURL() string { return s.srv.URL + DiscoveryPath }

// CAPEM returns the server's self-signed certificate as PEM, the value of
// issuer.certificateAuthority that trusts it.
func (s *Server) CAPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}))
}

// Client returns an HTTP client that trusts the server (and only it).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// SetKeys replaces the published keys (each with its own alg, use "sig")
// and drops any raw JWK or raw body set before.
func (s *Server) SetKeys(keys ...*Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
	s.raw = nil
	s.body = nil
}

// AddRawJWK publishes one more JWK exactly as given (an oct key, a key with
// use "enc", a private key, a broken key...), after the keys of SetKeys.
func (s *Server) AddRawJWK(jwk map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw = append(s.raw, maps.Clone(jwk))
}

// SetJWKSBody serves body verbatim at JWKSPath (an oversize or malformed
// set); nil restores the key list.
func (s *Server) SetJWKSBody(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

// SetDiscovery overrides the "issuer" and "jwks_uri" members of the
// discovery document; an empty string keeps the default (URL() and
// JWKSURL()).
func (s *Server) SetDiscovery(issuer, jwksURI string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuer, s.jwksURI = issuer, jwksURI
}

// FailWith makes every request answer status with an empty body; 0 restores
// normal service.
func (s *Server) FailWith(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// SetDelay makes every response wait d first (to overlap concurrent
// fetches or trip a client timeout); 0 removes it.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Fetches is the number of requests received at JWKSPath, failed ones
// included.
func (s *Server) Fetches() int { return s.Requests(JWKSPath) }

// DiscoveryFetches is the number of requests received at DiscoveryPath.
func (s *Server) DiscoveryFetches() int { return s.Requests(DiscoveryPath) }

// Requests is the number of requests received at path.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// Token returns a token signed by k with header {"alg": k.Alg, "kid":
// k.Kid, "typ": "JWT"} and claims, with "iss" set to URL() when claims has
// none (claims itself is not modified).
func (s *Server) Token(k *Key, claims map[string]any) string {
	c := maps.Clone(claims)
	if c == nil {
		c = map[string]any{}
	}
	if _, ok := c["iss"]; !ok {
		c["iss"] = s.URL()
	}
	return Sign(k, map[string]any{"alg": k.Alg, "kid": k.Kid, "typ": "JWT"}, c)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	status, delay := s.status, s.delay
	var body []byte
	switch r.URL.Path {
	case DiscoveryPath:
		body = s.discoveryLocked()
	case JWKSPath:
		body = s.jwksLocked()
	}
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case status != 0:
		w.WriteHeader(status)
	case body == nil:
		http.NotFound(w, r)
	case r.URL.Path == JWKSPath && !acceptsJWKSet(r.Header.Get("Accept")):
		// kube-apiserver's /openid/v1/jwks answers 406 unless the client
		// accepts application/jwk-set+json; the test issuer does the same.
		http.Error(w, "not acceptable", http.StatusNotAcceptable)
	case r.URL.Path == JWKSPath:
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

// acceptsJWKSet reports whether an Accept header admits
// application/jwk-set+json (an absent header admits anything).
func acceptsJWKSet(accept string) bool {
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.TrimSpace(mt) {
		case "application/jwk-set+json", "application/*", "*/*":
			return true
		}
	}
	return false
}

func (s *Server) discoveryLocked() []byte {
	iss, jwks := s.issuer, s.jwksURI
	if iss == "" {
		iss = s.srv.URL
	}
	if jwks == "" {
		jwks = s.srv.URL + JWKSPath
	}
	return mustJSON(map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              jwks,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": Algorithms,
	})
}

func (s *Server) jwksLocked() []byte {
	if s.body != nil {
		return s.body
	}
	list := make([]any, 0, len(s.keys)+len(s.raw))
	for _, k := range s.keys {
		list = append(list, k.JWK(k.Alg, "sig"))
	}
	for _, j := range s.raw {
		list = append(list, j)
	}
	return mustJSON(map[string]any{"keys": list})
}

// selfSigned is a fresh self-signed certificate for 127.0.0.1 that is its
// own CA, so each server has its own trust (demo.SelfSignedCertificate).
func selfSigned() tls.Certificate {
	certPEM, keyPEM := must2(demo.SelfSignedCertificate("127.0.0.1"))
	return must(tls.X509KeyPair(certPEM, keyPEM))
}
