package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/demo"
)

// Values of the test configuration written by writeConfig.
const (
	endpointToken = "endpoint-token-0123456789abcdef0123456789abcdef"
	audKube       = "https://kubernetes.default.svc"
	audOther      = "other-audience"
	tenantKey     = "example.com/tenant"
)

// fixture is a real issuer (TLS on 127.0.0.1), its signing key and a
// configuration file trusting it.
type fixture struct {
	iss    *testIssuer
	dir    string
	config string // path of the configuration file
}

// newFixture starts an RS256 issuer and writes a WebhookConfiguration for
// it: audiences audKube and audOther; username sub under "oidc:", groups
// under "oidc:", uid from the uid claim, extra tenantKey from a CEL
// expression; the endpoint protected by endpointToken; denial reasons on.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{iss: startIssuer(t), dir: t.TempDir()}
	f.config = f.writeConfig(t, "config.yaml", "")
	return f
}

// writeConfig writes the fixture's configuration with extra appended to
// the issuer entry (YAML lines indented by 2 spaces), and returns its path.
func (f *fixture) writeConfig(t *testing.T, name, extra string) string {
	t.Helper()
	ca := "    certificateAuthority: |\n" + indent(f.iss.CAPEM(), "      ")
	cfg := fmt.Sprintf(`apiVersion: tokenreview.dev/v1alpha1
kind: WebhookConfiguration
jwt:
- issuer:
    url: %s
%s    audiences: [%q, %q]
    audienceMatchPolicy: MatchAny
  claimMappings:
    username: {claim: sub, prefix: "oidc:"}
    groups: {claim: groups, prefix: "oidc:"}
    uid: {claim: uid}
    extra:
    - key: %s
      valueExpression: claims.tenant
%swebhook:
  authentication:
    bearerTokens: [%q]
  keyPrefetchTimeout: 3s
`, f.iss.URL(), ca, audKube, audOther, tenantKey, extra, endpointToken)
	path := filepath.Join(f.dir, name)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// token returns a valid token for sub with the fixture's usual claims:
// groups [dev, ops], uid "uid-<sub>", tenant "blue", aud as given.
func (f *fixture) token(sub string, aud any, ttl time.Duration) string {
	c := claimsFor(sub, ttl)
	c["aud"] = aud
	c["groups"] = []string{"dev", "ops"}
	c["uid"] = "uid-" + sub
	c["tenant"] = "blue"
	c["jti"] = "jti-" + sub
	return f.iss.Token(c)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is `tokenreview serve` running in-process.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	caPEM  []byte // the server's certificate, for clients
	cancel context.CancelFunc
	code   chan int
}

// startServe runs `tokenreview serve` with args in-process and returns
// once it listens. A graceful shutdown (exit 0) is checked at cleanup.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, code: make(chan int, 1)}
	urls := make(chan string, 2)
	e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""),
		stdout: s.stdout, stderr: s.stderr, listening: func(u string) { urls <- u }}
	go func() { s.code <- run(ctx, append([]string{"serve"}, args...), e) }()
	select {
	case s.url = <-urls:
	case code := <-s.code:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s%s", code, s.stdout, s.stderr)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not start:\n%s", s.stderr)
	}
	t.Cleanup(func() {
		cancel()
		// Every token starts with a JSON header, base64url "eyJ".
		if strings.Contains(s.stderr.String(), "eyJ") {
			t.Errorf("a token reached the log:\n%s", s.stderr)
		}
		select {
		case code := <-s.code:
			if code != exitOK {
				t.Errorf("serve exited with %d after shutdown; stderr:\n%s", code, s.stderr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not shut down")
		}
	})
	return s
}

// startTLSServe starts `serve --config cfg` over TLS with a fresh
// certificate for 127.0.0.1.
func startTLSServe(t *testing.T, cfg string, extra ...string) *server {
	t.Helper()
	certPEM, keyPEM, err := demo.SelfSignedCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--config", cfg, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key}, extra...)
	s := startServe(t, args...)
	s.caPEM = certPEM
	return s
}

// webhookKubeconfig writes the kubeconfig kube-apiserver would be given
// for --authentication-token-webhook-config-file and returns its path.
func webhookKubeconfig(t *testing.T, serverURL string, caPEM []byte, token string) string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: tokenreview
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: kube-apiserver
  user:
    token: %s
contexts:
- name: webhook
  context: {cluster: tokenreview, user: kube-apiserver}
current-context: webhook
`, serverURL, ca, token)
	path := filepath.Join(t.TempDir(), "webhook-kubeconfig.yaml")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// demoCert returns a fresh self-signed certificate and key for 127.0.0.1.
func demoCert(t *testing.T) (certPEM, keyPEM []byte, err error) {
	t.Helper()
	certPEM, keyPEM, err = demo.SelfSignedCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, nil
}
