package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testIssuer is a real OIDC issuer over TLS on 127.0.0.1 with one RS256
// key. (shared/internal/testissuer cannot be imported from functions/:
// Go's internal rule limits it to shared/.)
type testIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

func startIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, kid: "test-rs256"}
	is.srv = httptest.NewTLSServer(http.HandlerFunc(is.serve))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *testIssuer) serve(w http.ResponseWriter, r *http.Request) {
	var v any
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		v = map[string]any{"issuer": is.URL(), "jwks_uri": is.URL() + "/jwks"}
	case "/jwks":
		pub := is.key.PublicKey
		v = map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": is.kid, "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		}}}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// URL is the issuer URL, "https://127.0.0.1:<port>".
func (is *testIssuer) URL() string { return is.srv.URL }

// CAPEM is the issuer's certificate, its certificateAuthority.
func (is *testIssuer) CAPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.srv.Certificate().Raw}))
}

// Token signs claims (iss defaults to URL()) with kid and RS256.
func (is *testIssuer) Token(claims map[string]any) string {
	c := jwt.MapClaims(maps.Clone(claims))
	if _, ok := c["iss"]; !ok {
		c["iss"] = is.URL()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = is.kid
	s, err := tok.SignedString(is.key)
	if err != nil {
		panic(err)
	}
	return s
}

// claimsFor returns iat and nbf now, exp now+ttl, and sub.
func claimsFor(sub string, ttl time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{"sub": sub, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix()}
}
