package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// httpsClient trusts only caPEM.
func httpsClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no certificate in CA PEM")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// httpClientPlain is a client for plain-HTTP loopback servers.
func httpClientPlain() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postReview(t *testing.T, c *http.Client, url, bearer, token string) (int, string) {
	t.Helper()
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"` + token + `"}}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeOperationalEndpoints(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)
	c := httpsClient(t, srv.caPEM)

	if code, body := get(t, c, srv.url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, c, srv.url+"/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if code, _ := postReview(t, c, srv.url+"/tokenreview", endpointToken, f.token("gina", audKube, time.Hour)); code != 200 {
		t.Fatalf("review: HTTP %d", code)
	}
	if code, _ := postReview(t, c, srv.url+"/tokenreview", "wrong-endpoint-token-0123456789abcdef", "x.y.z"); code != 401 {
		t.Fatalf("wrong endpoint token: HTTP %d", code)
	}
	if code, _ := get(t, c, srv.url+"/elsewhere"); code != 404 {
		t.Errorf("/elsewhere = %d, want 404", code)
	}
	code, body := get(t, c, srv.url+"/metrics")
	for _, want := range []string{
		`tokenreview_reviews_total{outcome="authenticated",reason="none"} 1` + "\n",
		`tokenreview_refused_requests_total{code="401"} 1` + "\n",
		`tokenreview_review_duration_seconds_count 1` + "\n",
		`tokenreview_key_fetches_total{issuer="` + f.iss.URL() + `"} 1` + "\n", // one key-set fetch (discovery, then JWKS)
		`tokenreview_key_fetch_failures_total{issuer="` + f.iss.URL() + `"} 0` + "\n",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q:\n%s", code, want, body)
		}
	}
}

func TestServeNotReadyWithoutKeys(t *testing.T) {
	f := newFixture(t)
	f.iss.Close()
	srv := startTLSServe(t, f.config)
	c := httpsClient(t, srv.caPEM)
	code, body := get(t, c, srv.url+"/readyz")
	if want := "not ready: no keys yet for issuers:\n" + f.iss.URL() + "\n"; code != 503 || body != want {
		t.Errorf("/readyz = %d %q, want 503 %q", code, body, want)
	}
	if code, body := get(t, c, srv.url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	// A review is answered (HTTP 200), unavailable, never authenticated.
	code, body = postReview(t, c, srv.url+"/tokenreview", endpointToken, f.token("hank", audKube, time.Hour))
	var tr struct {
		Status struct {
			Authenticated bool
			Error         string
		}
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil || code != 200 || tr.Status.Authenticated || !strings.HasPrefix(tr.Status.Error, "keys_unavailable: ") {
		t.Errorf("review = %d %s, want 200 with keys_unavailable", code, body)
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--tls-cert", "c.pem"}, "serve: --tls-cert and --tls-key go together\n"},
		{[]string{"serve", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "serve: demo mode (no --config) makes its own certificate; --tls-cert, --tls-key and --client-ca need --config\n"},
		{[]string{"serve", "extra"}, "serve: unexpected arguments: [\"extra\"]\n"},
	} {
		code, out, errOut := runCLI(t, "", tc.args...)
		if code != exitError || out != "" || errOut != tc.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestDemoServe starts the demo, takes the token it prints and posts it
// with the printed CA and endpoint token: authenticated. The printed curl
// line is run as printed too.
func TestDemoServe(t *testing.T) {
	srv := startServe(t, "--listen", "127.0.0.1:0")
	out := srv.stdout.String()
	field := func(label string) string {
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, label); ok {
				return strings.Fields(v)[0]
			}
		}
		t.Fatalf("no %q line in:\n%s", label, out)
		return ""
	}
	lineAfter := func(prefix string) string {
		lines := strings.Split(out, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) && i+1 < len(lines) {
				return lines[i+1]
			}
		}
		t.Fatalf("nothing after %q in:\n%s", prefix, out)
		return ""
	}
	if !strings.HasPrefix(out, "==> tokenreview DEMO MODE (not for production)\n") {
		t.Errorf("the demo is not labelled:\n%s", out)
	}
	webhookURL := field("Webhook URL:")
	if webhookURL != srv.url+"/tokenreview" {
		t.Errorf("webhook URL %q, server %q", webhookURL, srv.url)
	}
	ca, err := os.ReadFile(field("CA certificate:"))
	if err != nil {
		t.Fatal(err)
	}
	token := lineAfter("==> Token (valid 1h;")
	bearer := field("Endpoint token:")

	code, body := postReview(t, httpsClient(t, ca), webhookURL, bearer, token)
	var tr struct {
		Status struct {
			Authenticated bool
			User          struct {
				Username string
				Groups   []string
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil || code != 200 || !tr.Status.Authenticated ||
		tr.Status.User.Username != "demo:alice" || strings.Join(tr.Status.User.Groups, ",") != "demo:developers" {
		t.Fatalf("demo review: HTTP %d %s", code, body)
	}

	curlLine := lineAfter(`==> Try it (expect "authenticated": true):`)
	if _, err := exec.LookPath("curl"); err == nil {
		got, err := exec.Command("sh", "-c", curlLine).CombinedOutput()
		if err != nil || !strings.Contains(string(got), `"authenticated":true`) {
			t.Errorf("printed curl line failed (%v): %s\n%s", err, got, curlLine)
		}
	} else {
		t.Log("curl is not installed; the printed curl line was not run")
	}
	kubeconfig := field("==> Webhook kubeconfig for kube-apiserver (")
	kubeconfig = strings.TrimSuffix(kubeconfig, "):")
	wh := kubeWebhook(t, kubeconfig, "v1")
	resp, ok, err := wh.AuthenticateToken(t.Context(), token)
	if err != nil || !ok || resp.User.GetName() != "demo:alice" {
		t.Errorf("kube's webhook client with the printed kubeconfig: ok=%v err=%v", ok, err)
	}
}

// TestServeReadyzBringsBackAnIssuer: an issuer that was down at start is
// fetched again because /readyz asked, with no review needed.
func TestServeReadyzBringsBackAnIssuer(t *testing.T) {
	f := newFixture(t)
	f.iss.FailWith(http.StatusServiceUnavailable)
	srv := startTLSServe(t, f.config)
	c := httpsClient(t, srv.caPEM)
	f.iss.FailWith(0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, c, srv.url+"/readyz")
		if code == 200 && body == "ok\n" {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q; want 200 within 5s of the issuer coming back", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := f.iss.Fetches(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (the one /readyz started)", n)
	}
}
