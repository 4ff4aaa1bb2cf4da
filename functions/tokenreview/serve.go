package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/lambdaevent"
	"github.com/tokenreview/webhook/shared/metrics"
	"github.com/tokenreview/webhook/shared/tokenreview"
)

// shutdownGrace bounds the wait for in-flight requests on SIGINT/SIGTERM.
const shutdownGrace = 10 * time.Second

// serveFlags are the options of `tokenreview serve`.
type serveFlags struct {
	config, listen  string
	tlsCert, tlsKey string
	clientCA        string
	demoAudience    string
}

func parseServe(args []string, e env) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.config, "config", "", "configuration file (WebhookConfiguration or AuthenticationConfiguration); none: demo mode")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key, serve HTTPS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fs.StringVar(&f.clientCA, "client-ca", "", "CA bundle (PEM) verifying client certificates, for webhook.authentication.clientCertificateSubjects")
	fs.StringVar(&f.demoAudience, "demo-audience", "", "demo mode only: the demo tokens' audience (default "+`"tokenreview-demo"`+")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if f.config == "" && (f.tlsCert != "" || f.clientCA != "") {
		return nil, errors.New("demo mode (no --config) makes its own certificate; --tls-cert, --tls-key and --client-ca need --config")
	}
	if f.config != "" && f.demoAudience != "" {
		return nil, errors.New("--demo-audience is for demo mode (no --config)")
	}
	if f.clientCA != "" && f.tlsCert == "" {
		return nil, errors.New("--client-ca needs --tls-cert and --tls-key")
	}
	return f, nil
}

// runServe is `tokenreview serve`.
func runServe(ctx context.Context, args []string, e env) int {
	f, err := parseServe(args, e)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitError
	}
	log := newLogger(e, slog.LevelInfo)
	if f.config == "" {
		return runDemo(ctx, f, e, log)
	}
	cfg, err := config.LoadFile(f.config)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitFail
	}
	tlsConfig, err := serverTLS(f, cfg)
	if err != nil {
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitError
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(e.stderr, "serve:", strings.Join(problems(err), "\n  "))
		return exitFail
	}
	a.logReadiness(ctx, log)
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintln(e.stderr, "serve:", err)
		return exitFail
	}
	mux := http.NewServeMux()
	a.routes(mux)
	return serveUntilDone(ctx, ln, mux, tlsConfig, e, log)
}

// serverTLS builds the TLS configuration of the listener, or nil for
// plain HTTP. Client certificates are verified against --client-ca when
// given; endpointauth then pins their subjects.
func serverTLS(f *serveFlags, cfg *config.Config) (*tls.Config, error) {
	subjects := len(cfg.Webhook.Authentication.ClientCertificateSubjects) > 0
	if subjects && f.clientCA == "" {
		return nil, errors.New("webhook.authentication.clientCertificateSubjects needs --client-ca (and --tls-cert, --tls-key) to verify client certificates")
	}
	if f.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.clientCA != "" {
		pem, err := os.ReadFile(f.clientCA)
		if err != nil {
			return nil, fmt.Errorf("reading --client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s holds no PEM certificate", f.clientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// routes mounts the webhook and the operational endpoints on mux. The
// webhook paths go through lambdaevent's HTTP API adapter, the code path
// of API Gateway: net/http → HTTP API 2.0 event → tokenreview → back.
func (a *app) routes(mux *http.ServeMux) {
	webhook := lambdaevent.NewHandler(a.handler)
	mux.Handle("/tokenreview", webhook)
	mux.Handle(tokenreview.APIPathV1, webhook)
	mux.Handle(tokenreview.APIPathV1beta1, webhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, missing := a.auth.Ready(); !ok {
			a.auth.Retry() // paced: at most one fetch per issuer per minRefreshInterval
			plain(w, http.StatusServiceUnavailable, "not ready: no keys yet for issuers:\n"+strings.Join(missing, "\n")+"\n")
			return
		}
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", metrics.PrometheusContentType)
		_ = a.metrics.WritePrometheus(w)
	})
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// serveUntilDone serves on ln (TLS when tc is set) until ctx ends, then
// shuts down gracefully.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, tc *tls.Config, e env, log *slog.Logger) int {
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tc,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if tc != nil {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	errc := make(chan error, 1)
	go func() {
		if tc != nil {
			errc <- srv.ServeTLS(ln, "", "") // certificates come from tc
			return
		}
		errc <- srv.Serve(ln)
	}()
	log.InfoContext(ctx, "listening", "url", url)
	if tc == nil && !isLoopback(ln.Addr()) {
		log.WarnContext(ctx, "serving plain HTTP on a non-loopback address: endpoint tokens and service tokens cross the network unencrypted; use --tls-cert and --tls-key")
	}
	if e.listening != nil {
		e.listening(url)
	}
	select {
	case err := <-errc:
		log.ErrorContext(ctx, "server failed", "error", err.Error())
		return exitFail
	case <-ctx.Done():
	}
	log.InfoContext(ctx, "shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.ErrorContext(ctx, "shutdown incomplete", "error", err.Error())
		return exitFail
	}
	return exitOK
}

// isLoopback reports whether addr is a loopback TCP address.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
