package infra_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/tools/clientcmd"
)

// renderKubeconfig runs scripts/kubeconfig.sh and returns the file it wrote.
func renderKubeconfig(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "webhook.kubeconfig")
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(t), "scripts", "kubeconfig.sh"), "-o", out}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubeconfig.sh %v: %v\n%s", args, err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig mode %v, want 0600", st.Mode().Perm())
	}
	return out
}

// TestKubeconfigBearer loads the rendered file exactly as kube-apiserver
// loads --authentication-token-webhook-config-file.
func TestKubeconfigBearer(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "bearer-token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "https://abcdefghij.lambda-url.eu-west-1.on.aws/tokenreview"
	path := renderKubeconfig(t, nil, "--url", url, "--front", "FunctionUrl", "--token-file", tokenFile)
	cfg, err := webhookutil.LoadKubeconfig(path, nil)
	if err != nil {
		t.Fatalf("kube-apiserver's loader refuses the file: %v", err)
	}
	if cfg.Host != url || cfg.BearerTokenFile != tokenFile || cfg.CertFile != "" {
		t.Fatalf("host %q token file %q cert %q", cfg.Host, cfg.BearerTokenFile, cfg.CertFile)
	}
}

func TestKubeconfigMutualTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeClientCert(t, dir)
	url := "https://authn.example.com/tokenreview"
	path := renderKubeconfig(t, nil, "--url", url, "--front", "RestApiMtls", "--client-cert", cert, "--client-key", key)
	cfg, err := webhookutil.LoadKubeconfig(path, nil)
	if err != nil {
		t.Fatalf("kube-apiserver's loader refuses the file: %v", err)
	}
	if cfg.Host != url || cfg.CertFile != cert || cfg.KeyFile != key || cfg.BearerTokenFile != "" {
		t.Fatalf("host %q cert %q key %q token file %q", cfg.Host, cfg.CertFile, cfg.KeyFile, cfg.BearerTokenFile)
	}
}

// TestKubeconfigFromStack drives the --stack path with an `aws` on PATH that
// answers describe-stacks like the AWS CLI's --output text and records its
// arguments (no AWS account is reachable from a test).
func TestKubeconfigFromStack(t *testing.T) {
	bin := t.TempDir()
	argsLog := filepath.Join(bin, "args")
	aws := `#!/usr/bin/env bash
echo "$*" >>"` + argsLog + `"
case "$*" in
*"OutputKey=='WebhookUrl'"*) echo "https://x1y2z3.execute-api.eu-west-1.amazonaws.com/tokenreview" ;;
*"OutputKey=='Front'"*) echo "HttpApi" ;;
*) exit 3 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(aws), 0o755); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(bin, "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := renderKubeconfig(t, []string{"PATH=" + bin + ":" + os.Getenv("PATH")},
		"--stack", "tokenreview-prod", "--region", "eu-west-1", "--token-file", tokenFile)
	cfg, err := webhookutil.LoadKubeconfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://x1y2z3.execute-api.eu-west-1.amazonaws.com/tokenreview" || cfg.BearerTokenFile != tokenFile {
		t.Fatalf("host %q token file %q", cfg.Host, cfg.BearerTokenFile)
	}
	logged, _ := os.ReadFile(argsLog)
	for _, line := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		if !strings.HasPrefix(line, "cloudformation describe-stacks --stack-name tokenreview-prod --query") ||
			!strings.HasSuffix(line, "--output text --region eu-west-1") {
			t.Fatalf("unexpected aws call %q", line)
		}
	}
}

func TestKubeconfigRefusesBadInput(t *testing.T) {
	script := filepath.Join(repoRoot(t), "scripts", "kubeconfig.sh")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "http://insecure.example.com/x", "--front", "HttpApi"}, "the webhook URL must be https, got: http://insecure.example.com/x"},
		{[]string{"--url", "https://x.example.com/x", "--front", "Alb"}, "--front must be FunctionUrl, HttpApi or RestApiMtls, got: 'Alb'"},
		{[]string{"--front", "HttpApi"}, "give --stack NAME, or --url URL with --front"},
		{[]string{"--url"}, "--url needs a value"},
	} {
		out, err := exec.Command("bash", append([]string{script}, tc.args...)...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || strings.TrimSpace(string(out)) != "kubeconfig.sh: "+tc.want {
			t.Errorf("%v: exit %v, output %q; want exit 2 and %q", tc.args, err, out, tc.want)
		}
	}
}

// writeClientCert writes a real self-signed ECDSA client certificate and
// key, since kube-apiserver's loader reads both files.
func writeClientCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kube-apiserver", Organization: []string{"cluster-a"}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// TestKubeconfigSnippetMatchesScript renders the stack's KubeconfigSnippet
// output (both branches of its !If) with sample values and requires the same
// kubeconfig as scripts/kubeconfig.sh renders from the same URL and its
// default paths, so the two ways of wiring kube-apiserver never drift.
func TestKubeconfigSnippetMatchesScript(t *testing.T) {
	tmpl, err := parseTemplate(readRepoFile(t, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	snippet := at(tmpl.root, "Outputs", "KubeconfigSnippet", "Value")
	if snippet == nil || snippet.Tag != "!If" || len(snippet.Content) != 3 || scalar(snippet.Content[0]) != "UseRestApiMtls" {
		t.Fatal("KubeconfigSnippet is not !If [UseRestApiMtls, mTLS, bearer]")
	}
	mtls, bearer := snippet.Content[1], snippet.Content[2]
	if mtls.Tag != "!Sub" || bearer.Tag != "!Sub" || bearer.Kind != yaml.SequenceNode {
		t.Fatal("unexpected KubeconfigSnippet shape")
	}
	const domain = "authn.example.com"
	const fnURL = "https://abcdefghij.lambda-url.eu-west-1.on.aws/tokenreview"
	cases := []struct {
		front, text, url string
	}{
		{"RestApiMtls", strings.ReplaceAll(mtls.Value, "${DomainName}", domain), "https://" + domain + "/tokenreview"},
		{"FunctionUrl", strings.ReplaceAll(scalar(bearer.Content[0]), "${Url}", fnURL), fnURL},
	}
	for _, tc := range cases {
		if strings.Contains(tc.text, "${") {
			t.Fatalf("%s: unsubstituted variable in %q", tc.front, tc.text)
		}
		fromStack, err := clientcmd.Load([]byte(tc.text))
		if err != nil {
			t.Fatalf("%s: the snippet is not a kubeconfig: %v", tc.front, err)
		}
		out, err := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "kubeconfig.sh"), "--url", tc.url, "--front", tc.front).Output()
		if err != nil {
			t.Fatal(err)
		}
		fromScript, err := clientcmd.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromStack, fromScript) {
			t.Errorf("%s: the stack output and the script differ:\n%s\nvs\n%s", tc.front, tc.text, out)
		}
		if fromStack.Clusters["tokenreview"] == nil || fromStack.Clusters["tokenreview"].Server != tc.url {
			t.Errorf("%s: server is not %s", tc.front, tc.url)
		}
	}
}
