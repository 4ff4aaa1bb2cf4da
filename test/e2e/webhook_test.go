package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webhook is a running `tokenreview serve`.
type webhook struct {
	*proc
	url    string // https://127.0.0.1:<port>
	caPEM  []byte // trusts the webhook's serving certificate
	client *http.Client
}

// startWebhook writes cfg (a WebhookConfiguration as a JSON-able map) and
// runs `tokenreview serve` over TLS with a certificate from the run's CA,
// then waits for /readyz (every issuer's keys fetched).
func startWebhook(t *testing.T, pki *ca, cfg map[string]any) *webhook {
	t.Helper()
	dir := logDir
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatalf("marshal webhook config: %v", err)
	}
	certPEM, keyPEM := pki.issue(t, true, "tokenreview")
	port := freePort(t)
	p := start(t, "tokenreview", bins.tokenreview, "serve",
		"--config", writeFile(t, dir, "tokenreview-config.json", data),
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--tls-cert", writeFile(t, dir, "tokenreview.crt", certPEM),
		"--tls-key", writeFile(t, dir, "tokenreview.key", keyPEM),
	)
	w := &webhook{
		proc:   p,
		url:    url127(port),
		caPEM:  pki.certPEM,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool(), MinVersion: tls.VersionTLS12}}},
	}
	p.waitFor(t, 30*time.Second, func() error { return httpOK(w.client, w.url+"/readyz") })
	return w
}

// randomToken returns 32 random bytes in hex (the endpoint's bearer token).
func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

// kubeconfig is the --authentication-token-webhook-config-file for cluster
// A: the webhook's URL, the CA that signed its certificate, and the bearer
// token it requires.
func (w *webhook) kubeconfig(bearer string) []byte {
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "webhook",
		"clusters": []any{map[string]any{"name": "tokenreview", "cluster": map[string]any{
			"server":                     w.url + "/tokenreview", // the webhook path: any TokenReview version
			"certificate-authority-data": w.caPEM,
		}}},
		"users":    []any{map[string]any{"name": "apiserver", "user": map[string]any{"token": bearer}}},
		"contexts": []any{map[string]any{"name": "webhook", "context": map[string]any{"cluster": "tokenreview", "user": "apiserver"}}},
	}
	data, _ := json.Marshal(cfg) // JSON is YAML; []byte marshals as base64 as kubeconfig wants
	return data
}

// metrics scrapes /metrics and returns every sample as "name{labels}" →
// value, exactly as the exposition text spells the series.
func (w *webhook) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url+"/metrics", nil)
	if err != nil {
		t.Fatalf("metrics request: %v", err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET /metrics: %s: %s", resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return out
}

// keyFetchSeries is the Prometheus series counting issuer's key fetches
// (one fetch = discovery, when needed, plus the JWKS).
func keyFetchSeries(issuer string) string {
	return fmt.Sprintf("tokenreview_key_fetches_total{issuer=%q}", issuer)
}

// keyFetchFailureSeries is the series counting issuer's failed key fetches.
func keyFetchFailureSeries(issuer string) string {
	return fmt.Sprintf("tokenreview_key_fetch_failures_total{issuer=%q}", issuer)
}

// reviewSeries is the series counting reviews with outcome and reason
// ("none" for an authenticated review).
func reviewSeries(outcome, reason string) string {
	return fmt.Sprintf("tokenreview_reviews_total{outcome=%q,reason=%q}", outcome, reason)
}

// logSize is the current size of the webhook's log, a mark for reviews.
func (w *webhook) logSize(t *testing.T) int64 {
	t.Helper()
	fi, err := os.Stat(w.logPath)
	if err != nil {
		t.Fatalf("stat webhook log: %v", err)
	}
	return fi.Size()
}

// reviewsSince returns the "review" records the webhook logged (one JSON
// object per line) after the mark from logSize.
func (w *webhook) reviewsSince(t *testing.T, mark int64) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(w.logPath)
	if err != nil {
		t.Fatalf("read webhook log: %v", err)
	}
	var out []map[string]any
	for _, line := range strings.Split(string(data[mark:]), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "review" {
			out = append(out, rec)
		}
	}
	return out
}
