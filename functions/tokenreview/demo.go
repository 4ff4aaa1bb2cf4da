package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/demo"
)

// Demo token: who it is for and how long it lasts.
const (
	demoSubject  = "alice"
	demoTokenTTL = time.Hour
)

var demoGroups = []string{"developers"}

// runDemo is `tokenreview serve` without --config: the demo issuer and the
// webhook on one TLS listener (see shared/demo for why TLS and not an
// exception to the https rule). The configuration it runs is written to a
// temporary directory, with the CA, the kubeconfig and the token, and
// removed on exit.
func runDemo(ctx context.Context, f *serveFlags, e env, log *slog.Logger) int {
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitFail
	}
	d, err := demo.New(ln.Addr(), f.demoAudience)
	if err != nil {
		ln.Close()
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitFail
	}
	dir, err := os.MkdirTemp("", "tokenreview-demo-")
	if err != nil {
		ln.Close()
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitFail
	}
	defer os.RemoveAll(dir)

	// The issuer must answer while the verifier prefetches its keys, so
	// the server starts first and the webhook routes are added to the mux
	// once the verifier exists (ServeMux allows that while serving).
	mux := http.NewServeMux()
	mux.Handle(demo.IssuerPath+"/", d.Handler())
	tc := &tls.Config{Certificates: []tls.Certificate{d.Certificate}, MinVersion: tls.VersionTLS12}
	ready := make(chan struct{})
	started := e
	started.listening = func(string) { close(ready) }
	done := make(chan int, 1)
	go func() { done <- serveUntilDone(ctx, ln, mux, tc, started, log) }()
	select {
	case <-ready:
	case code := <-done:
		return code
	}

	code := startDemoWebhook(ctx, d, dir, mux, e, log)
	if code != exitOK {
		return code
	}
	if e.listening != nil {
		e.listening(d.ServerURL)
	}
	return <-done
}

// startDemoWebhook loads the demo configuration like any file, builds the
// webhook on mux and prints the demo's instructions.
func startDemoWebhook(ctx context.Context, d *demo.Demo, dir string, mux *http.ServeMux, e env, log *slog.Logger) int {
	files := map[string][]byte{"ca.pem": d.CertPEM, "config.yaml": d.Config(), "kubeconfig.yaml": d.Kubeconfig()}
	token, err := d.Token(demoSubject, demoGroups, demoTokenTTL)
	if err != nil {
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitFail
	}
	files["token"] = []byte(token + "\n")
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			fmt.Fprintln(e.stderr, "serve:", err)
			return exitFail
		}
	}
	cfg, err := config.LoadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		fmt.Fprintln(e.stderr, "serve: demo configuration:", err)
		return exitFail
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(e.stderr, "serve: demo:", err)
		return exitFail
	}
	a.logReadiness(ctx, log)
	a.routes(mux)
	printDemo(e.stdout, d, dir, token)
	return exitOK
}

// printDemo prints what to do with the demo, clearly labelled.
func printDemo(w io.Writer, d *demo.Demo, dir, token string) {
	ca := filepath.Join(dir, "ca.pem")
	kc := filepath.Join(dir, "kubeconfig.yaml")
	fmt.Fprintf(w, `==> tokenreview DEMO MODE (not for production)
An in-process issuer with a fresh ES256 key, served over TLS with a
self-signed certificate made for this run. Everything below dies with
this process; the files are removed on exit.

Webhook URL:     %s
Issuer URL:      %s
CA certificate:  %s
Configuration:   %s
Endpoint token:  %s   (Authorization: Bearer, required)

==> Token (valid %s; user %s%s, groups %s%s, audience %q; also in %s):
%s

==> Try it (expect "authenticated": true):
%s

==> Webhook kubeconfig for kube-apiserver (%s):
%s
kube-apiserver flags:
  --authentication-token-webhook-config-file=%s
  --authentication-token-webhook-version=v1
kube-apiserver sends its --api-audiences as spec.audiences: include %q in
them, or restart the demo with --demo-audience set to one of them.

Press Ctrl-C to stop.
`,
		d.WebhookURL(), d.IssuerURL, ca, filepath.Join(dir, "config.yaml"), d.BearerToken,
		strings.TrimSuffix(demoTokenTTL.String(), "0m0s"), demo.UserPrefix, demoSubject, demo.UserPrefix, demoGroups[0], d.Audience, filepath.Join(dir, "token"),
		token,
		d.Curl(token, ca),
		kc, d.Kubeconfig(), kc, d.Audience)
}
