package main

import (
	"context"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/testissuer"
)

// TestServeMutualTLS: with clientCertificateSubjects and a bearer token
// configured, kube-apiserver's webhook client needs both a client
// certificate of an allowed subject (verified against --client-ca) and the
// token.
func TestServeMutualTLS(t *testing.T) {
	f := newFixture(t)
	cfg := f.config
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(f.dir, "mtls.yaml")
	withSubjects := strings.Replace(string(data), "    bearerTokens:", "    clientCertificateSubjects: [\"CN=kube-apiserver,O=example\"]\n    bearerTokens:", 1)
	if err := os.WriteFile(cfg, []byte(withSubjects), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := testissuer.NewClientCA()
	caFile := filepath.Join(f.dir, "client-ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startTLSServe(t, cfg, "--client-ca", caFile)

	kubeconfigWithCert := func(subject pkix.Name) string {
		certPEM, keyPEM := ca.Issue(subject)
		path := webhookKubeconfig(t, srv.url+"/tokenreview", srv.caPEM, endpointToken)
		dir := t.TempDir()
		cert, key := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
		if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		kc, _ := os.ReadFile(path)
		kc = []byte(strings.Replace(string(kc), "    token: ", "    client-certificate: "+cert+"\n    client-key: "+key+"\n    token: ", 1))
		if err := os.WriteFile(path, kc, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tok := f.token("ivan", audKube, time.Hour)

	allowed := kubeconfigWithCert(pkix.Name{CommonName: "kube-apiserver", Organization: []string{"example"}})
	resp, ok, err := kubeWebhook(t, allowed, "v1").AuthenticateToken(context.Background(), tok)
	if err != nil || !ok || resp.User.GetName() != "oidc:ivan" {
		t.Fatalf("allowed certificate and token: ok=%v err=%v", ok, err)
	}

	for _, tc := range []struct{ name, kubeconfig, want string }{
		{"other subject", kubeconfigWithCert(pkix.Name{CommonName: "someone-else", Organization: []string{"example"}}),
			"endpoint authentication failed: client certificate subject not allowed"},
		{"no certificate", webhookKubeconfig(t, srv.url+"/tokenreview", srv.caPEM, endpointToken),
			"endpoint authentication failed: missing client certificate"},
	} {
		resp, ok, err := kubeWebhook(t, tc.kubeconfig, "v1").AuthenticateToken(context.Background(), tok)
		if ok || resp != nil || err == nil || err.Error() != tc.want {
			t.Errorf("%s: resp=%v ok=%v err=%v, want the 401 %q", tc.name, resp, ok, err, tc.want)
		}
	}
}
