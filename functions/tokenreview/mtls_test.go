package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientCA is a CA that signs client certificates.
type clientCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newClientCA(t *testing.T) *clientCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &clientCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a client certificate for subject and its key, PEM.
func (ca *clientCA) issue(t *testing.T, subject pkix.Name) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

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
	ca := newClientCA(t)
	caFile := filepath.Join(f.dir, "client-ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startTLSServe(t, cfg, "--client-ca", caFile)

	kubeconfigWithCert := func(subject pkix.Name) string {
		certPEM, keyPEM := ca.issue(t, subject)
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
