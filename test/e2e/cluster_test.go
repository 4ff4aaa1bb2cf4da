package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// etcd is one single-member etcd on loopback.
type etcd struct {
	*proc
	clientURL string
}

// startEtcd starts etcd with its own data directory and free ports and
// waits until it answers /health.
func startEtcd(t *testing.T, name string) *etcd {
	t.Helper()
	dataDir := filepath.Join(logDir, name+"-data")
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	p := start(t, name, bins.etcd,
		"--name", name,
		"--data-dir", dataDir,
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", name+"="+peerURL,
		"--unsafe-no-fsync", // a throwaway test store on a busy disk
		"--log-level", "warn",
	)
	p.waitFor(t, 60*time.Second, func() error { return httpOK(http.DefaultClient, clientURL+"/health") })
	return &etcd{proc: p, clientURL: clientURL}
}

// apiserver is one running kube-apiserver and an admin client for it.
type apiserver struct {
	*proc
	port   int
	url    string
	client *kubernetes.Clientset
	// config is the admin rest.Config, copied to build bearer-token clients.
	config *rest.Config
}

// apiserverSpec is what differs between the two clusters.
type apiserverSpec struct {
	name string
	port int // 0 picks a free one; set to restart on the same issuer URL
	etcd *etcd
	// etcdPrefix separates two apiservers sharing one etcd.
	etcdPrefix string
	// signingKey signs new service-account tokens; verifyKeys are all the
	// keys published in the JWKS and accepted (signingKey included).
	signingKey *saKey
	verifyKeys []*saKey
	// audiences is --api-audiences (default: the issuer).
	audiences []string
	// extra flags (the webhook ones for cluster A).
	extra []string
}

// startAPIServer starts kube-apiserver as spec says, serving a certificate
// from the run's CA, trusting the CA's client certificates (the test's
// admin), and waits for /readyz.
func startAPIServer(t *testing.T, pki *ca, spec apiserverSpec) *apiserver {
	t.Helper()
	port := spec.port
	if port == 0 {
		port = freePort(t)
	}
	dir := filepath.Join(logDir, spec.name+"-files")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create %s: %v", dir, err)
	}
	certPEM, keyPEM := pki.issue(t, true, spec.name)
	var pubs []byte
	for _, k := range spec.verifyKeys {
		pubs = append(pubs, k.publicPEM(t)...)
	}
	issuer := url127(port)
	args := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + dir,
		"--tls-cert-file=" + writeFile(t, dir, "serving.crt", certPEM),
		"--tls-private-key-file=" + writeFile(t, dir, "serving.key", keyPEM),
		"--client-ca-file=" + writeFile(t, dir, "client-ca.crt", pki.certPEM),
		"--etcd-servers=" + spec.etcd.clientURL,
		"--etcd-prefix=" + spec.etcdPrefix,
		"--service-account-issuer=" + issuer,
		"--service-account-jwks-uri=" + issuer + "/openid/v1/jwks",
		"--service-account-signing-key-file=" + writeFile(t, dir, "sa-signing.key", spec.signingKey.privatePEM()),
		"--service-account-key-file=" + writeFile(t, dir, "sa-verify.pub", pubs),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--authorization-mode=RBAC",
		"--endpoint-reconciler-type=none", // 127.0.0.1 is not a valid endpoint address
		"--enable-priority-and-fairness=false",
		"--v=2",
	}
	if len(spec.audiences) > 0 {
		args = append(args, "--api-audiences="+strings.Join(spec.audiences, ","))
	}
	args = append(args, spec.extra...)
	p := start(t, spec.name, bins.kubeAPIServer, args...)
	cfg := &rest.Config{
		Host:    issuer,
		Timeout: 30 * time.Second,
	}
	adminCert, adminKey := pki.issue(t, false, "e2e-admin", "system:masters")
	cfg.TLSClientConfig = rest.TLSClientConfig{CAData: pki.certPEM, CertData: adminCert, KeyData: adminKey}
	// /readyz is public (system:public-info-viewer): the probe only trusts the CA.
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool(), MinVersion: tls.VersionTLS12}}}
	p.waitFor(t, 120*time.Second, func() error { return httpOK(probe, issuer+"/readyz") })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client for %s: %v", spec.name, err)
	}
	return &apiserver{proc: p, port: port, url: issuer, client: client, config: cfg}
}

// bearerClient returns a client for the apiserver that authenticates with
// token only (no client certificate).
func (a *apiserver) bearerClient(t *testing.T, token string) *kubernetes.Clientset {
	t.Helper()
	cfg := rest.AnonymousClientConfig(a.config)
	cfg.BearerToken = token
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("bearer client: %v", err)
	}
	return c
}

// httpOK GETs url and returns nil only for a 200.
func httpOK(c *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}
