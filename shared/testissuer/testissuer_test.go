package testissuer

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// TestTokensVerifyAgainstPublishedJWKS proves, for every algorithm, that a
// Server token verifies with a real JWKS fetch (keyfunc over the server's
// TLS, trusting only CAPEM) and that the header is what Token promises.
func TestTokensVerifyAgainstPublishedJWKS(t *testing.T) {
	keys := make([]*Key, 0, len(Algorithms))
	for _, alg := range Algorithms {
		keys = append(keys, NewKey(alg))
	}
	s := Start(t, keys...)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(s.CAPEM())) {
		t.Fatal("CAPEM did not parse")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	kf, err := keyfunc.NewDefaultOverrideCtx(t.Context(), []string{s.JWKSURL()}, keyfunc.Override{Client: client, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		tok := s.Token(k, Claims("", "aud-1", "alice", time.Minute))
		parsed, err := jwt.Parse(tok, kf.Keyfunc, jwt.WithValidMethods([]string{k.Alg}), jwt.WithIssuer(s.URL()), jwt.WithAudience("aud-1"))
		if err != nil {
			t.Fatalf("%s: %v", k.Alg, err)
		}
		want := map[string]any{"alg": k.Alg, "kid": k.Kid, "typ": "JWT"}
		if len(parsed.Header) != 3 || parsed.Header["alg"] != want["alg"] || parsed.Header["kid"] != want["kid"] || parsed.Header["typ"] != "JWT" {
			t.Fatalf("%s: header %v, want %v", k.Alg, parsed.Header, want)
		}
	}
	if got := s.Fetches(); got != 1 {
		t.Fatalf("Fetches() = %d, want 1", got)
	}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignAttackShapes(t *testing.T) {
	k := NewKey("RS256")
	claims := map[string]any{"sub": "x"}

	none := Sign(k, map[string]any{"alg": "none"}, claims)
	parts := strings.Split(none, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("alg none token %q: want an empty signature", none)
	}
	if h := decodeSegment(t, parts[0]); len(h) != 1 || h["alg"] != "none" {
		t.Fatalf("alg none header = %v", h)
	}

	hs := Sign(k, map[string]any{"alg": "HS256", "jku": "https://evil"}, claims)
	if _, err := jwt.Parse(hs, func(*jwt.Token) (any, error) { return k.PublicPEM(), nil }); err != nil {
		t.Fatalf("HS256 with the public PEM as secret should verify with that secret: %v", err)
	}
	if h := decodeSegment(t, strings.Split(hs, ".")[0]); len(h) != 2 || h["jku"] != "https://evil" {
		t.Fatalf("header not exact: %v", h)
	}

	// A header that lies (ES256 on an RSA key) is signed with the key's alg.
	lie := Sign(k, map[string]any{"alg": "ES256"}, claims)
	p := strings.Split(lie, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(p[2])
	if err := jwt.SigningMethodRS256.Verify(p[0]+"."+p[1], sig, k.Public()); err != nil {
		t.Fatalf("lying header not signed with RS256: %v", err)
	}

	// PS256 on an RSA key is honoured.
	ps := Sign(k, map[string]any{"alg": "PS256"}, claims)
	if _, err := jwt.Parse(ps, func(*jwt.Token) (any, error) { return k.Public(), nil }, jwt.WithValidMethods([]string{"PS256"})); err != nil {
		t.Fatalf("PS256 with an RSA key: %v", err)
	}

	raw := SignRaw(k, []byte(`{"alg":"RS256"}`), []byte(`{"exp":"1","exp":"2"}`))
	pr := strings.Split(raw, ".")
	if b, _ := base64.RawURLEncoding.DecodeString(pr[1]); string(b) != `{"exp":"1","exp":"2"}` {
		t.Fatalf("SignRaw payload = %q", b)
	}

	secret := []byte("0123456789abcdef0123456789abcdef")
	h := SignHMAC(secret, map[string]any{"alg": "HS512"}, claims)
	if _, err := jwt.Parse(h, func(*jwt.Token) (any, error) { return secret, nil }, jwt.WithValidMethods([]string{"HS512"})); err != nil {
		t.Fatalf("SignHMAC: %v", err)
	}
}

func TestJWKMembers(t *testing.T) {
	k := NewKey("EdDSA")
	j := k.JWK("", "")
	if _, ok := j["alg"]; ok {
		t.Fatalf("alg present: %v", j)
	}
	if _, ok := j["use"]; ok {
		t.Fatalf("use present: %v", j)
	}
	if j["kty"] != "OKP" || j["crv"] != "Ed25519" || j["kid"] != k.Kid || j["d"] != nil {
		t.Fatalf("unexpected JWK %v", j)
	}
	j = NewKey("ES384").JWK("ES256", "enc")
	if j["alg"] != "ES256" || j["use"] != "enc" || j["crv"] != "P-384" {
		t.Fatalf("unexpected JWK %v", j)
	}
}

func get(t *testing.T, c *http.Client, url string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestServerDocumentsAndFailures(t *testing.T) {
	k := NewKey("ES256")
	s := Start(t, k)
	c := s.Client()

	code, d := get(t, c, s.DiscoveryURL())
	if code != 200 || d["issuer"] != s.URL() || d["jwks_uri"] != s.JWKSURL() || !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("discovery %d %v", code, d)
	}
	s.SetDiscovery("https://other", "http://127.0.0.1/jwks")
	if _, d = get(t, c, s.DiscoveryURL()); d["issuer"] != "https://other" || d["jwks_uri"] != "http://127.0.0.1/jwks" {
		t.Fatalf("override: %v", d)
	}

	s.AddRawJWK(map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "sym"})
	_, j := get(t, c, s.JWKSURL())
	list := j["keys"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["kid"] != k.Kid || list[1].(map[string]any)["kty"] != "oct" {
		t.Fatalf("jwks %v", j)
	}
	s.FailWith(http.StatusInternalServerError)
	if code, _ = get(t, c, s.JWKSURL()); code != 500 {
		t.Fatalf("FailWith: got %d", code)
	}
	s.FailWith(0)
	k2 := NewKey("RS256")
	s.SetKeys(k2)
	_, j = get(t, c, s.JWKSURL())
	if list = j["keys"].([]any); len(list) != 1 || list[0].(map[string]any)["kid"] != k2.Kid {
		t.Fatalf("SetKeys: %v", j)
	}
	if s.Fetches() != 3 || s.DiscoveryFetches() != 2 {
		t.Fatalf("counters: jwks %d discovery %d", s.Fetches(), s.DiscoveryFetches())
	}
	// Another server's CA does not trust this one.
	other := Start(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(other.CAPEM()))
	oc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if _, err := oc.Get(s.JWKSURL()); err == nil {
		t.Fatal("another server's CA trusted this server")
	}
	// The default client (system roots) must not trust the server.
	if _, err := http.Get(s.JWKSURL()); err == nil {
		t.Fatal("system roots trusted the test certificate")
	}
}
