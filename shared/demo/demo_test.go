package demo

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tokenreview/webhook/shared/config"
)

// startDemo serves a Demo's issuer over TLS on 127.0.0.1 with its own
// certificate, as `tokenreview serve` does.
func startDemo(t *testing.T) (*Demo, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(ln.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(IssuerPath+"/", d.Handler())
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{d.Certificate}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(d.CertPEM) {
		t.Fatal("CertPEM does not parse")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return d, client
}

func TestIssuerServesDiscoveryAndVerifiableKeys(t *testing.T) {
	d, client := startDemo(t)

	resp, err := client.Get(d.IssuerURL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("discovery over TLS trusting only CertPEM: %v", err)
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if disc.Issuer != d.IssuerURL || disc.JWKSURI != d.IssuerURL+"/jwks" {
		t.Fatalf("discovery = %+v, want issuer %s", disc, d.IssuerURL)
	}

	// The real keyfunc library, fetching the JWKS over TLS, verifies a
	// demo token with the real golang-jwt parser.
	resp, err = client.Get(disc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		t.Fatalf("keyfunc over the demo JWKS: %v", err)
	}
	tok, err := d.Token("alice", []string{"developers"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(tok, kf.Keyfunc, jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithIssuer(d.IssuerURL), jwt.WithAudience(DefaultAudience), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("demo token does not verify against the demo JWKS: %v", err)
	}
	if parsed.Header["kid"] != d.KeyID() {
		t.Errorf("kid = %v, want %s", parsed.Header["kid"], d.KeyID())
	}
	c := parsed.Claims.(jwt.MapClaims)
	exp, _ := c.GetExpirationTime()
	if left := time.Until(exp.Time); left < 59*time.Minute || left > time.Hour {
		t.Errorf("token expires in %v, want 1h", left)
	}
	if c["sub"] != "alice" || c["email"] != "alice@example.com" || !slices.Equal(toStrings(c["groups"]), []string{"developers"}) {
		t.Errorf("claims = %v", c)
	}

	resp, err = client.Get(d.IssuerURL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", resp.StatusCode)
	}
}

func TestConfigLoadsStrictly(t *testing.T) {
	d, _ := startDemo(t)
	cfg, err := config.Load(d.Config())
	if err != nil {
		t.Fatalf("demo config does not load:\n%v\n%s", err, d.Config())
	}
	if len(cfg.JWT) != 1 {
		t.Fatalf("%d issuers, want 1", len(cfg.JWT))
	}
	j := cfg.JWT[0]
	if j.Issuer.URL != d.IssuerURL || j.Issuer.CertificateAuthority != string(d.CertPEM) ||
		!slices.Equal(j.Issuer.Audiences, []string{DefaultAudience}) || !slices.Equal(j.AllowedAlgorithms(), []string{"ES256"}) {
		t.Errorf("issuer = %+v, algorithms %v", j.Issuer, j.AllowedAlgorithms())
	}
	if !slices.Equal(cfg.Webhook.Authentication.BearerTokens, []string{d.BearerToken}) {
		t.Errorf("bearer tokens = %v", cfg.Webhook.Authentication.BearerTokens)
	}
}

func TestKubeconfigLoadsWithClientcmd(t *testing.T) {
	d, _ := startDemo(t)
	path := filepath.Join(t.TempDir(), "kubeconfig.yaml")
	if err := os.WriteFile(path, d.Kubeconfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatalf("clientcmd: %v", err)
	}
	if rc.Host != d.WebhookURL() || rc.BearerToken != d.BearerToken || string(rc.CAData) != string(d.CertPEM) {
		t.Errorf("rest config host %q token ok %v CA ok %v", rc.Host, rc.BearerToken == d.BearerToken, string(rc.CAData) == string(d.CertPEM))
	}
}

func TestNewUsesLoopbackForUnspecifiedHost(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4zero, Port: 8443}
	d, err := New(addr, "aud-x")
	if err != nil {
		t.Fatal(err)
	}
	if d.ServerURL != "https://127.0.0.1:8443" || d.IssuerURL != "https://127.0.0.1:8443/demo/issuer" || d.Audience != "aud-x" {
		t.Errorf("urls %s %s aud %s", d.ServerURL, d.IssuerURL, d.Audience)
	}
	leaf := d.Certificate.Leaf
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not cover 127.0.0.1: %v", err)
	}
	want := "curl -sS --cacert /tmp/ca.pem -H 'Authorization: Bearer " + d.BearerToken +
		"' -H 'Content-Type: application/json' -d '{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"tok\"}}' https://127.0.0.1:8443/tokenreview"
	if got := d.Curl("tok", "/tmp/ca.pem"); got != want {
		t.Errorf("Curl =\n%s\nwant\n%s", got, want)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
