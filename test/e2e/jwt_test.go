package e2e

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// signRS256 returns a compact JWS of claims with header {"alg":"RS256",
// "kid":kid,"typ":"JWT"}, signed by key.
func signRS256(t *testing.T, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	if err != nil {
		t.Fatalf("marshal header: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return input + "." + b64(sig)
}

// tokenParts decodes the header and payload of a compact JWS without
// verifying it (the test reads what the issuer put in its own token).
func tokenParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	decode := func(s string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("decode token part: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("unmarshal token part: %v", err)
		}
		return m
	}
	return decode(parts[0]), decode(parts[1])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// oidcIssuers is one TLS server hosting several OIDC issuers, one per path
// ("https://127.0.0.1:<port>/<name>"), each serving discovery and a JWKS
// with the same RSA key. It stands for a corporate identity provider.
type oidcIssuers struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

// startOIDC starts the issuers' server; it is closed by t.Cleanup.
func startOIDC(t *testing.T, names ...string) *oidcIssuers {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate OIDC key: %v", err)
	}
	o := &oidcIssuers{key: key, kid: "oidc-e2e-1"}
	mux := http.NewServeMux()
	for _, name := range names {
		mux.HandleFunc("GET /"+name+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{
				"issuer":                                o.URL(name),
				"jwks_uri":                              o.URL(name) + "/keys",
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
		})
		mux.HandleFunc("GET /"+name+"/keys", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"keys": []any{map[string]any{
				"kty": "RSA", "use": "sig", "alg": "RS256", "kid": o.kid,
				"n": b64(key.N.Bytes()),
				"e": b64(big.NewInt(int64(key.E)).Bytes()),
			}}})
		})
	}
	o.srv = httptest.NewTLSServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

// URL is the issuer URL of name.
func (o *oidcIssuers) URL(name string) string { return o.srv.URL + "/" + name }

// caPEM is the server's self-signed certificate, the issuers' trust anchor.
func (o *oidcIssuers) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.srv.Certificate().Raw}))
}

// token signs claims for the issuer name (iss is set here).
func (o *oidcIssuers) token(t *testing.T, name string, claims map[string]any) string {
	t.Helper()
	claims["iss"] = o.URL(name)
	return signRS256(t, o.key, o.kid, claims)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
