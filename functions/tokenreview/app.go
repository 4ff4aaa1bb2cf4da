package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/endpointauth"
	"github.com/tokenreview/webhook/shared/metrics"
	"github.com/tokenreview/webhook/shared/tokenreview"
	"github.com/tokenreview/webhook/shared/verify"
)

// app is one loaded configuration wired for serving: the verifier, the
// endpoint policy, the metrics and the wire-contract handler around them.
type app struct {
	cfg     *config.Config
	auth    *verify.Authenticator
	metrics *metrics.Registry
	handler *tokenreview.Handler
}

// newApp builds the verifier (prefetching keys, bounded by the
// configuration's keyPrefetchTimeout inside verify.New) and the handler.
// Key fetch failures are not errors: reviews of that issuer are
// Unavailable until a fetch succeeds.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	reg := metrics.NewRegistry()
	pol, err := endpointauth.New(cfg.Webhook.Authentication.BearerTokens, cfg.Webhook.Authentication.ClientCertificateSubjects)
	if err != nil {
		return nil, fmt.Errorf("webhook.authentication: %w", err)
	}
	auth, err := verify.New(ctx, cfg, verify.Options{
		OnKeyFetch: reg.ObserveKeyFetch,
		Logger:     log,
	})
	if err != nil {
		return nil, fmt.Errorf("building the verifier: %w", err)
	}
	return &app{
		cfg:     cfg,
		auth:    auth,
		metrics: reg,
		handler: &tokenreview.Handler{
			Reviewer:      auth,
			Auth:          pol,
			DenialReasons: cfg.Webhook.DenialReasons(),
			Observe:       observer(log, reg),
		},
	}, nil
}

// logReadiness logs, once at start, which issuers have keys, and warns
// when the endpoint accepts any caller.
func (a *app) logReadiness(ctx context.Context, log *slog.Logger) {
	if a.handler.Auth.Empty() {
		log.WarnContext(ctx, "webhook.authentication is empty: any caller that reaches the endpoint may use it; configure bearerTokens and/or clientCertificateSubjects")
	}
	if ok, missing := a.auth.Ready(); ok {
		log.InfoContext(ctx, "keys ready", "issuers", len(a.cfg.JWT))
	} else {
		log.WarnContext(ctx, "keys not yet available; reviews of these issuers are unavailable until a fetch succeeds",
			"issuers_without_keys", missing)
	}
}
